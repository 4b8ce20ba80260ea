/** The protocol version is part of the URL so that v2 can live beside v1 during a fleet upgrade. */
export const PROTOCOL_VERSION = 1;
export const WS_PATH = '/v1/ws';
