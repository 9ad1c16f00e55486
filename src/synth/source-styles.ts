// How each demo source looks: the pose, light, background and camera of legacy, b200c and real images.
import { Mesh } from './mesh.ts';
import { composite, cameraEffects, dropShadow, solid, valueNoise, type Image } from './image-ops.ts';
import { downsample, rasterize, type Light, type Rgb, type SceneObject } from './rasterizer.ts';
import type { Rng } from '../ml/random.ts';
import { mulMat, normalize, rotX, rotY, rotZ, type Mat3, type Vec3 } from './vec.ts';

export type SourceName = 'legacy' | 'b200c' | 'real';
export const SOURCE_NAMES: readonly SourceName[] = ['legacy', 'b200c', 'real'];

/** What a picture is of, at which size (pixels) and supersampling factor. */
export interface Shot {
  mesh: Mesh;
  albedo: Rgb;
  size: number;
  supersample: number;
}

/**
 * A float image ready for encoding, plus the blur (sigma, 0 = none) the encoder should apply.
 * `image.size` may be below the shot's size (a small crop): the encoder scales it up first.
 */
export interface StyledImage {
  image: Image;
  blurSigma: number;
}

/** Renders `shot` the way `source` looks. */
export function renderStyled(source: SourceName, shot: Shot, rng: Rng): StyledImage {
  switch (source) {
    case 'legacy':
      return legacy(shot, rng);
    case 'b200c':
      return b200c(shot, rng);
    case 'real':
      return real(shot, rng);
  }
}

/** Random resting pose: spun about the vertical, tilted towards the camera, sometimes lying on a side. */
function pose(rng: Rng, minTilt: number, maxTilt: number, sideChance: number): Mat3 {
  const deg = Math.PI / 180;
  const lying = rng.chance(sideChance) ? rotZ((rng.chance(0.5) ? 90 : -90) * deg) : rotZ(0);
  return mulMat(rotX(rng.uniform(minTilt, maxTilt) * deg), mulMat(rotY(rng.uniform(0, 360) * deg), lying));
}

/** Camera whose frame holds the part's bounding sphere at `fill` of the half-width. */
function frameFor(mesh: Mesh, size: number, fill: number): { distance: number; focal: number; radius: number } {
  const { radius } = mesh.bounds();
  const distance = radius * 6;
  return { distance, focal: (fill * (size / 2) * (distance - radius)) / radius, radius };
}

const grey = (v: number): Rgb => [v, v, v];

/** legacy: studio renders on pure white, fixed key + fill light, no noise, PNG. */
function legacy(shot: Shot, rng: Rng): StyledImage {
  const big = shot.size * shot.supersample;
  const cam = frameFor(shot.mesh, big, rng.uniform(0.8, 0.95));
  const part: SceneObject = { mesh: shot.mesh, rotation: pose(rng, 15, 75, 0.15), offset: [0, 0, 0], albedo: shot.albedo, specular: 0.25 };
  const lights: Light[] = [
    { dir: [-0.5, 0.8, 0.6], color: grey(0.85) },
    { dir: [0.7, 0.1, 0.5], color: grey(0.3) },
  ];
  const frame = downsample(rasterize([part], { size: big, ...cam }, lights, grey(0.35)), shot.supersample);
  return { image: composite(frame, solid(shot.size, [1, 1, 1])), blurSigma: 0 };
}

/** b200c: small renders in context: textured floor, random light, clutter around the part, soft shadow. */
function b200c(shot: Shot, rng: Rng): StyledImage {
  const big = shot.size * shot.supersample;
  const cam = frameFor(shot.mesh, big, rng.uniform(0.55, 0.8));
  const r = cam.radius;
  const objects: SceneObject[] = [
    { mesh: shot.mesh, rotation: pose(rng, 20, 80, 0.3), offset: [rng.uniform(-0.15, 0.15) * r, rng.uniform(-0.15, 0.15) * r, 0], albedo: shot.albedo, specular: 0.2 },
  ];
  const clutter = rng.below(3);
  for (let i = 0; i < clutter; i++) objects.push(clutterObject(rng, r));
  const tint: Rgb = [rng.uniform(0.85, 1.1), rng.uniform(0.85, 1.05), rng.uniform(0.8, 1.1)];
  const strength = rng.uniform(0.55, 1.05);
  const dir = normalize([rng.uniform(-1, 1), rng.uniform(0.3, 1), rng.uniform(0.2, 1)]);
  const lights: Light[] = [{ dir, color: [tint[0] * strength, tint[1] * strength, tint[2] * strength] }];
  const frame = downsample(rasterize(objects, { size: big, distance: cam.distance, focal: cam.focal }, lights, grey(rng.uniform(0.2, 0.45))), shot.supersample);
  const bg = floorTexture(shot.size, rng);
  dropShadow(bg, frame.coverage, -dir[0] * shot.size * 0.06, dir[1] * shot.size * 0.04, Math.max(1, Math.round(shot.size / 32)), 0.45);
  const image = composite(frame, bg);
  cameraEffects(image, [1, 1, 1], 1, 0, 0.01, rng);
  return { image, blurSigma: 0 };
}

/**
 * The capture tool crops a square around each detected part, so every part fills a similar
 * share of its crop, but a small part's crop has fewer sensor pixels and is scaled up: its
 * image is softer. This is the bounding radius (mm, about a 2 x 4 brick) whose crop needs no
 * upscaling; smaller parts are captured at a proportionally smaller size (down to 40%).
 */
const FULL_CROP_RADIUS_MM = 18;

/** real: camera over an off-white belt: ring light, white-balance tint, exposure drift, vignette, blur, sensor noise, JPEG. */
function real(shot: Shot, rng: Rng): StyledImage {
  const sensor = Math.max(16, Math.round(shot.size * Math.min(1, Math.max(0.4, shot.mesh.bounds().radius / FULL_CROP_RADIUS_MM))));
  const big = sensor * shot.supersample;
  const cam = frameFor(shot.mesh, big, rng.uniform(0.5, 0.8));
  const r = cam.radius;
  const part: SceneObject = {
    mesh: shot.mesh,
    rotation: pose(rng, 30, 85, 0.2),
    offset: [rng.uniform(-0.2, 0.2) * r, rng.uniform(-0.2, 0.2) * r, 0],
    albedo: shot.albedo,
    specular: 0.3,
  };
  const dir: Vec3 = normalize([rng.uniform(-0.3, 0.3), 1, rng.uniform(0.4, 0.8)]);
  const lights: Light[] = [{ dir, color: grey(rng.uniform(0.7, 0.9)) }];
  const frame = downsample(rasterize([part], { size: big, distance: cam.distance, focal: cam.focal }, lights, grey(0.4)), shot.supersample);
  const bg = beltTexture(sensor, rng);
  dropShadow(bg, frame.coverage, 0, sensor * 0.02, Math.max(1, Math.round(sensor / 24)), 0.3);
  const image = composite(frame, bg);
  const tint: Rgb = [rng.uniform(0.92, 1.08), 1, rng.uniform(0.9, 1.08)];
  cameraEffects(image, tint, rng.uniform(0.8, 1.15), rng.uniform(0.15, 0.35), rng.uniform(0.01, 0.03), rng);
  return { image, blurSigma: rng.uniform(0.4, 0.9) };
}

/** A small box or cylinder of a random colour somewhere around the part (other bricks on the table). */
function clutterObject(rng: Rng, radius: number): SceneObject {
  const mesh = new Mesh();
  const s = () => rng.uniform(0.2, 0.6) * radius;
  if (rng.chance(0.5)) mesh.box(0, 0, 0, s(), s(), s());
  else mesh.cylinder(0, 0, s() / 2, 0, s(), 12);
  const angle = rng.uniform(0, 2 * Math.PI);
  const d = rng.uniform(1.0, 1.5) * radius;
  return {
    mesh,
    rotation: pose(rng, 20, 80, 0),
    offset: [Math.cos(angle) * d, Math.sin(angle) * d, -rng.uniform(0, radius)],
    albedo: [rng.next(), rng.next(), rng.next()],
    specular: 0.2,
  };
}

/** A floor: wood grain, tiles or mottled noise, in a random colour. */
function floorTexture(size: number, rng: Rng): Image {
  const base: Rgb = [rng.uniform(0.2, 0.85), rng.uniform(0.2, 0.8), rng.uniform(0.15, 0.75)];
  const kind = rng.below(3);
  const noise = valueNoise(size, 4 + rng.below(6), rng);
  const img = solid(size, base);
  const period = rng.uniform(4, 12);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const n = noise[y * size + x]!;
      let v: number;
      if (kind === 0) v = 0.8 + 0.35 * Math.sin((y + n * 10) / period * Math.PI) * 0.5; // wood grain
      else if (kind === 1) v = (Math.floor(x / (period * 2)) + Math.floor(y / (period * 2))) % 2 === 0 ? 0.8 : 1.05; // tiles
      else v = 0.7 + 0.5 * n; // mottled
      const i = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) img.rgb[i + c] = img.rgb[i + c]! * v;
    }
  return img;
}

/** An off-white conveyor belt: fine grain plus faint streaks along the direction of travel. */
function beltTexture(size: number, rng: Rng): Image {
  const level = rng.uniform(0.84, 0.93);
  const warm = rng.uniform(0, 0.03);
  const grain = valueNoise(size, Math.max(4, Math.floor(size / 3)), rng);
  const blotch = valueNoise(size, 3, rng);
  const streak = Float32Array.from({ length: size }, () => rng.normal() * 0.012);
  const img = solid(size, [level + warm, level, level - warm]);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const v = 1 + 0.05 * (grain[y * size + x]! - 0.5) + 0.04 * (blotch[y * size + x]! - 0.5) + streak[y]!;
      const i = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) img.rgb[i + c] = img.rgb[i + c]! * v;
    }
  return img;
}
