// Public surface of the whole streamer service (media core + signaling endpoints + HTTP): what the entry point,
// benches and the network lab start.
export { startStreamerService } from './streamer-service.js';
export { loadServiceConfig } from './service-config.js';
export type { GstElement } from './media/gst-native.js';
export { FLASH_ELEMENT, setFlashLuma } from './media/sources.js';
export type { StreamerService } from './streamer-service.js';
export {
  defaultRecordingConfig,
  loadRecordingConfig,
  type RecordingConfig,
} from './recording/recording-config.js';
