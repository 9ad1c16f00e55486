// Renders one demo image (a part, a colour, a source look, a seed) and encodes it with sharp.
import sharp from 'sharp';
import { toBytes } from './image-ops.ts';
import { buildPartMesh, PART_CATALOGUE } from './parts.ts';
import { Rng } from '../ml/random.ts';
import type { Rgb } from './rasterizer.ts';
import { renderStyled, type SourceName } from './source-styles.ts';
import type { Mesh } from './mesh.ts';

/** Everything that decides an image's bytes; plain data so it can cross to a worker thread. */
export interface RenderJob {
  source: SourceName;
  partId: string;
  /** Colour as 6 hex digits (RRGGBB), as in config/colors.json. */
  rgb: string;
  seed: number;
  size: number;
  supersample: number;
  format: 'png' | 'jpeg';
  /** JPEG quality, 1..100 (ignored for PNG). */
  quality: number;
}

const meshCache = new Map<string, Mesh>();

function meshOf(partId: string): Mesh {
  let mesh = meshCache.get(partId);
  if (!mesh) {
    const spec = PART_CATALOGUE.get(partId);
    if (!spec) throw new Error(`the renderer has no geometry for part ${partId}`);
    mesh = buildPartMesh(spec.shape);
    meshCache.set(partId, mesh);
  }
  return mesh;
}

export function hexToRgb(hex: string): Rgb {
  const v = parseInt(hex, 16);
  return [((v >> 16) & 255) / 255, ((v >> 8) & 255) / 255, (v & 255) / 255];
}

/** Raw 8-bit RGB pixels of a job before blur and encoding, for tests and statistics. */
export function renderPixels(job: RenderJob): { pixels: Buffer; size: number; blurSigma: number } {
  const rng = new Rng(job.seed);
  const styled = renderStyled(job.source, { mesh: meshOf(job.partId), albedo: hexToRgb(job.rgb), size: job.size, supersample: job.supersample }, rng);
  return { pixels: toBytes(styled.image), size: styled.image.size, blurSigma: styled.blurSigma };
}

/** The encoded file bytes of a job: PNG or JPEG, same job -> same bytes. */
export async function renderImage(job: RenderJob): Promise<Buffer> {
  const { pixels, size, blurSigma } = renderPixels(job);
  let img = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
  if (blurSigma >= 0.3) img = img.blur(blurSigma);
  return job.format === 'png'
    ? img.png({ compressionLevel: 6 }).toBuffer()
    : img.jpeg({ quality: job.quality, chromaSubsampling: '4:2:0' }).toBuffer();
}
