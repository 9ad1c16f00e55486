// The service's default limits (docs/serving.md), apart from the server so `serve --help` loads nothing heavy.
export const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** 25 MP: a 24 MP camera's full frame passes; a decompression bomb (10000 x 10000 = 100 MP) does not. */
export const DEFAULT_MAX_PIXELS = 25_000_000;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
