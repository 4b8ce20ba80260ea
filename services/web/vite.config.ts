import { defineConfig } from 'vite';

// The app is served by signaling from WEB_ROOT (services/web/dist) in every real setup, on the same origin as
// /v1/ws. `npm run dev -w services/web` is for working on the page: it proxies /v1/ws to a running signaling.
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: {
    proxy: {
      '/v1/ws': { target: process.env.SIGNALING_ORIGIN ?? 'http://localhost:8080', ws: true },
    },
  },
});
