// Quoting for values placed into gst-launch descriptions (device names may hold spaces or quotes).
export function quoteValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
