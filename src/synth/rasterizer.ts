// A small z-buffered triangle rasteriser with Lambert + ambient (+ a plastic highlight) shading.
import type { Mesh } from './mesh.ts';
import { apply, normalize, type Mat3, type Vec3 } from './vec.ts';

/** Linear RGB, 0..1 per channel. */
export type Rgb = [number, number, number];

/** A directional light; `dir` points from the scene towards the light, in view space. */
export interface Light {
  dir: Vec3;
  color: Rgb;
}

/** One mesh placed in the scene: rotated about its own centre, then moved (view space, camera looks down -z). */
export interface SceneObject {
  mesh: Mesh;
  rotation: Mat3;
  offset: Vec3;
  /** sRGB albedo, 0..1. */
  albedo: Rgb;
  /** Strength of the Blinn-Phong highlight (ABS plastic is glossy). */
  specular: number;
}

export interface Camera {
  size: number;
  /** Distance from the camera to the scene origin. */
  distance: number;
  /** Focal length in pixels. */
  focal: number;
}

/** Colour (3 per pixel) and per-pixel coverage: linear light out of `rasterize`, premultiplied sRGB out of `downsample`. */
export interface Frame {
  size: number;
  color: Float32Array;
  coverage: Float32Array;
}

const toLinear = (c: number): number => Math.pow(c, 2.2);
const toSrgb = (c: number): number => Math.pow(Math.min(1, Math.max(0, c)), 1 / 2.2);

/** Draws the objects into a fresh frame with a z-buffer; pixels no triangle covers keep coverage 0. */
export function rasterize(objects: readonly SceneObject[], camera: Camera, lights: readonly Light[], ambient: Rgb): Frame {
  const { size, distance, focal } = camera;
  const color = new Float32Array(size * size * 3);
  const coverage = new Float32Array(size * size);
  const invDepth = new Float32Array(size * size); // 1/depth: 0 means empty (depth = infinity)
  const half = size / 2;
  const litDirs = lights.map((l) => normalize(l.dir));
  const halfway = litDirs.map((d) => normalize([d[0], d[1], d[2] + 1])); // viewer along +z

  for (const obj of objects) {
    const albedo = obj.albedo.map(toLinear) as Rgb;
    const { center } = obj.mesh.bounds();
    const pos = obj.mesh.positions;
    const nrm = obj.mesh.normals;
    // Per-vertex screen x, y, 1/depth and view-space normal, for the three corners of a triangle.
    const sx = [0, 0, 0], sy = [0, 0, 0], sw = [0, 0, 0];
    const vn: Vec3[] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    for (let t = 0; t < pos.length; t += 9) {
      for (let k = 0; k < 3; k++) {
        const o = t + k * 3;
        const p = apply(obj.rotation, [pos[o]! - center[0], pos[o + 1]! - center[1], pos[o + 2]! - center[2]]);
        const depth = distance - (p[2] + obj.offset[2]);
        sx[k] = half + (focal * (p[0] + obj.offset[0])) / depth;
        sy[k] = half - (focal * (p[1] + obj.offset[1])) / depth;
        sw[k] = 1 / depth;
        vn[k] = apply(obj.rotation, [nrm[o]!, nrm[o + 1]!, nrm[o + 2]!]);
      }
      // Normals that face away from the camera belong to hidden sides: flip them (the z-buffer hides those).
      const avg: Vec3 = [vn[0]![0] + vn[1]![0] + vn[2]![0], vn[0]![1] + vn[1]![1] + vn[2]![1], vn[0]![2] + vn[1]![2] + vn[2]![2]];
      if (avg[2] < 0) for (const v of vn) { v[0] = -v[0]; v[1] = -v[1]; v[2] = -v[2]; }

      const area = (sx[1]! - sx[0]!) * (sy[2]! - sy[0]!) - (sx[2]! - sx[0]!) * (sy[1]! - sy[0]!);
      if (Math.abs(area) < 1e-9) continue;
      const x0 = Math.max(0, Math.floor(Math.min(sx[0]!, sx[1]!, sx[2]!)));
      const x1 = Math.min(size - 1, Math.ceil(Math.max(sx[0]!, sx[1]!, sx[2]!)));
      const y0 = Math.max(0, Math.floor(Math.min(sy[0]!, sy[1]!, sy[2]!)));
      const y1 = Math.min(size - 1, Math.ceil(Math.max(sy[0]!, sy[1]!, sy[2]!)));
      // Barycentric weights are affine in (px, py): w = c + dx * px + dy * py (divided by the signed area).
      const inv = 1 / area;
      const w0dx = (sy[1]! - sy[2]!) * inv, w0dy = (sx[2]! - sx[1]!) * inv;
      const w0c = (sx[1]! * sy[2]! - sx[2]! * sy[1]!) * inv;
      const w1dx = (sy[2]! - sy[0]!) * inv, w1dy = (sx[0]! - sx[2]!) * inv;
      const w1c = (sx[2]! * sy[0]! - sx[0]! * sy[2]!) * inv;
      const [n0, n1, n2] = vn as [Vec3, Vec3, Vec3];
      for (let y = y0; y <= y1; y++) {
        const py = y + 0.5;
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5;
          const w0 = w0c + w0dx * px + w0dy * py;
          const w1 = w1c + w1dx * px + w1dy * py;
          const w2 = 1 - w0 - w1;
          if (w0 < 0 || w1 < 0 || w2 < 0) continue;
          const iw = w0 * sw[0]! + w1 * sw[1]! + w2 * sw[2]!;
          const idx = y * size + x;
          if (iw <= invDepth[idx]!) continue;
          invDepth[idx] = iw;
          coverage[idx] = 1;
          let nx = w0 * n0[0] + w1 * n1[0] + w2 * n2[0];
          let ny = w0 * n0[1] + w1 * n1[1] + w2 * n2[1];
          let nz = w0 * n0[2] + w1 * n1[2] + w2 * n2[2];
          const len = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
          nx /= len; ny /= len; nz /= len;
          let r = ambient[0] * albedo[0], g = ambient[1] * albedo[1], b = ambient[2] * albedo[2];
          for (let li = 0; li < lights.length; li++) {
            const lc = lights[li]!.color;
            const l = litDirs[li]!, h = halfway[li]!;
            const diffuse = Math.max(0, nx * l[0] + ny * l[1] + nz * l[2]);
            const nh = Math.max(0, nx * h[0] + ny * h[1] + nz * h[2]);
            const nh2 = nh * nh, nh8 = nh2 * nh2 * nh2 * nh2;
            const spec = obj.specular * nh8 * nh8 * nh8 * nh8 * nh8; // (n.h)^40
            r += lc[0] * (diffuse * albedo[0] + spec);
            g += lc[1] * (diffuse * albedo[1] + spec);
            b += lc[2] * (diffuse * albedo[2] + spec);
          }
          // Stays linear: supersamples are averaged in linear light, gamma is applied once per output pixel.
          color[idx * 3] = r;
          color[idx * 3 + 1] = g;
          color[idx * 3 + 2] = b;
        }
      }
    }
  }
  return { size, color, coverage };
}

/**
 * Box-filters a linear supersampled frame down by an integer factor (anti-aliasing, in linear
 * light) and converts it to sRGB premultiplied by the now fractional coverage.
 */
export function downsample(frame: Frame, factor: number): Frame {
  const size = Math.floor(frame.size / factor);
  const color = new Float32Array(size * size * 3);
  const coverage = new Float32Array(size * size);
  const norm = 1 / (factor * factor);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let dy = 0; dy < factor; dy++)
        for (let dx = 0; dx < factor; dx++) {
          const s = (y * factor + dy) * frame.size + x * factor + dx;
          r += frame.color[s * 3]!;
          g += frame.color[s * 3 + 1]!;
          b += frame.color[s * 3 + 2]!;
          a += frame.coverage[s]!;
        }
      const d = y * size + x;
      coverage[d] = a * norm;
      if (a === 0) continue;
      // Gamma on the mean colour of the covered samples, then premultiplied for "over" compositing.
      const k = a * norm;
      color[d * 3] = toSrgb(r / a) * k;
      color[d * 3 + 1] = toSrgb(g / a) * k;
      color[d * 3 + 2] = toSrgb(b / a) * k;
    }
  return { size, color, coverage };
}
