// How each demo source looks: the pose, light, background and camera of legacy, b200c and real images.
//
// Each source imitates the kind of data it stands for in the training plan, and every number
// below says which real rig or dataset it copies. The render sources (legacy, b200c) are also
// domain-randomised (Tobin et al. 2017, "Domain Randomization for Transferring Deep Neural
// Networks from Simulation to the Real World"): backgrounds and lighting vary so widely that
// the real captures look like one more variation, and nothing but the part itself predicts its
// label. The real-look source is never randomised beyond what one fixed rig varies by.
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

/** A float image of the shot's size, ready for encoding, plus the blur (sigma, 0 = none) the encoder should apply. */
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

const deg = Math.PI / 180;

/**
 * A pose seen by a camera `elevation` degrees above the part's ground plane (90 = straight
 * down): the part spun about its vertical (how it landed), sometimes lying on a side.
 */
function pose(rng: Rng, minElevation: number, maxElevation: number, sideChance: number): Mat3 {
  const lying = rng.chance(sideChance) ? rotZ((rng.chance(0.5) ? 90 : -90) * deg) : rotZ(0);
  return mulMat(rotX(rng.uniform(minElevation, maxElevation) * deg), mulMat(rotY(rng.uniform(0, 360) * deg), lying));
}

/** Camera whose frame holds the part's bounding sphere at `fill` of the half-width (the part's size in pixels is normalised away). */
function frameFor(mesh: Mesh, size: number, fill: number): { distance: number; focal: number; radius: number } {
  const { radius } = mesh.bounds();
  const distance = radius * 6;
  return { distance, focal: (fill * (size / 2) * (distance - radius)) / radius, radius };
}

const grey = (v: number): Rgb => [v, v, v];

/**
 * Colour temperature of a light or a camera's white balance as an RGB gain: `warmth` > 0 is
 * warmer (more red, less blue). Kept within what tungsten-to-daylight LEDs and auto white
 * balance leave (a few percent), so the hard colour pairs (e.g. black vs dark bluish grey,
 * tan vs light yellow) stay apart: the colour label must survive the light.
 */
const warmthGain = (warmth: number): Rgb => [1 + warmth, 1, 1 - warmth];

// --- legacy: catalogue renders -----------------------------------------------------------

/**
 * Share of legacy images kept on the catalogue's own pure-white backdrop: LDraw renders (the
 * Rebrickable / BrickLink part images the legacy set is made of) are isolated parts on white.
 * The rest are the same renders pasted onto random backdrops, as cut-and-paste synthetic data
 * does (Dwibedi et al. 2017; Kam, TU Delft 2021, for LEGO bricks): a white catalogue
 * background is trivially matted out, and on white alone the background became a shortcut
 * (issue #17: a legacy-only CNN called 469 of 555 real-look images one part).
 */
const CATALOGUE_WHITE_SHARE = 0.25;

/**
 * legacy: a catalogue render. Framing and view as LDraw renders are made: the part centred and
 * filling most of the frame (renderers crop to the part's bounds), seen from above at a
 * three-quarter view (LDraw's default view is 30 degrees up; catalogue sets add a few views
 * per part), studio key + fill light, no sensor noise, PNG. The light is domain-randomised
 * (direction, strength, fill, ambient, colour temperature) and so is the backdrop.
 */
function legacy(shot: Shot, rng: Rng): StyledImage {
  const big = shot.size * shot.supersample;
  const cam = frameFor(shot.mesh, big, rng.uniform(0.8, 0.95));
  const part: SceneObject = { mesh: shot.mesh, rotation: pose(rng, 15, 75, 0.15), offset: [0, 0, 0], albedo: shot.albedo, specular: 0.25 };
  const key = normalize([rng.uniform(-0.8, 0.8), rng.uniform(0.3, 1), rng.uniform(0.3, 0.9)]);
  const gain = warmthGain(rng.uniform(-0.05, 0.05));
  const keyLevel = rng.uniform(0.7, 1.0);
  const fillLevel = rng.uniform(0.15, 0.4);
  const lights: Light[] = [
    { dir: key, color: [gain[0] * keyLevel, gain[1] * keyLevel, gain[2] * keyLevel] },
    { dir: [-key[0], 0.1, 0.5], color: grey(fillLevel) }, // the fill sits opposite the key, as in a studio
  ];
  const frame = downsample(rasterize([part], { size: big, ...cam }, lights, grey(rng.uniform(0.25, 0.45))), shot.supersample);
  const backdrop = rng.chance(CATALOGUE_WHITE_SHARE) ? solid(shot.size, [1, 1, 1]) : randomBackdrop(shot.size, rng);
  return { image: composite(frame, backdrop), blurSigma: 0 };
}

/**
 * A domain-randomised backdrop (Tobin et al. 2017 randomise textures and colours of everything
 * but the object): a flat colour, a two-colour gradient, or a mottled, grained or tiled
 * texture, in any hue and brightness (white and near-white included).
 */
function randomBackdrop(size: number, rng: Rng): Image {
  const colour = (): Rgb => [rng.next(), rng.next(), rng.next()];
  switch (rng.below(3)) {
    case 0:
      return solid(size, colour());
    case 1: {
      const a = colour(), b = colour();
      const angle = rng.uniform(0, 2 * Math.PI);
      const [cx, cy] = [Math.cos(angle), Math.sin(angle)];
      const img = solid(size, a);
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const t = Math.min(1, Math.max(0, 0.5 + ((x / size - 0.5) * cx + (y / size - 0.5) * cy)));
          for (let c = 0; c < 3; c++) img.rgb[(y * size + x) * 3 + c] = a[c]! + (b[c]! - a[c]!) * t;
        }
      return img;
    }
    default:
      return floorTexture(size, rng);
  }
}

// --- b200c: centred multi-angle 64 x 64 renders -------------------------------------------

/**
 * b200c: as the B200C LEGO Classification Dataset (Blender renders of 200 parts, 64 x 64,
 * 4,000 views per part): the part centred in the frame with a margin, the camera anywhere
 * on the hemisphere above the floor it stands on (the set orbits the part; lying on a side
 * 30% of the time shows the faces a view from above misses), a random colour, a random light and a textured floor with other bricks around it (the
 * "in context" of DESIGN.md) and a soft shadow. Lighting and floors are randomised as in
 * domain randomisation; the set is rendered, so it has no sensor noise beyond JPEG's and
 * a faint dither.
 */
function b200c(shot: Shot, rng: Rng): StyledImage {
  const big = shot.size * shot.supersample;
  const cam = frameFor(shot.mesh, big, rng.uniform(0.55, 0.8));
  const r = cam.radius;
  const objects: SceneObject[] = [{ mesh: shot.mesh, rotation: pose(rng, 5, 90, 0.3), offset: [0, 0, 0], albedo: shot.albedo, specular: 0.2 }];
  const clutter = rng.below(3);
  for (let i = 0; i < clutter; i++) objects.push(clutterObject(rng, r));
  const gain = warmthGain(rng.uniform(-0.08, 0.08));
  const strength = rng.uniform(0.55, 1.05);
  const dir = normalize([rng.uniform(-1, 1), rng.uniform(0.3, 1), rng.uniform(0.2, 1)]);
  const lights: Light[] = [{ dir, color: [gain[0] * strength, gain[1] * strength, gain[2] * strength] }];
  const frame = downsample(rasterize(objects, { size: big, distance: cam.distance, focal: cam.focal }, lights, grey(rng.uniform(0.2, 0.45))), shot.supersample);
  const bg = floorTexture(shot.size, rng);
  dropShadow(bg, frame.coverage, -dir[0] * shot.size * 0.06, dir[1] * shot.size * 0.04, Math.max(1, Math.round(shot.size / 32)), 0.45);
  const image = composite(frame, bg);
  cameraEffects(image, [1, 1, 1], 1, 0, 0.01, rng);
  return { image, blurSigma: 0 };
}

// --- real: a sorting machine's fixed overhead camera ---------------------------------------

/**
 * The rig: one camera fixed over the belt, as in the LEGO sorting machines that publish their
 * build (Daniel West's Universal LEGO Sorting Machine, Jacques Mattheij's sorter): fixed
 * height, fixed lens, fixed light, so every capture has the same millimetres per pixel and a
 * part's size in pixels follows its real size. A detector finds the part on the belt and cuts
 * a fixed-size square centred on it. RIG_CROP_MM is that square's side on the belt: the
 * largest target (Brick 2 x 4, 32 x 16 mm, ~36 mm corner to corner) fits with a margin for a
 * part lying on its side and for the detector's aim.
 */
const RIG_CROP_MM = 48;
/** Lens to belt, mm: a webcam ~30 cm above a 20 cm belt sees it whole; the perspective is mild. */
const RIG_CAMERA_MM = 300;
/** Camera elevation above the belt, degrees: tilted so a part's sides show (a brick and a plate differ only there). */
const RIG_ELEVATION = 60;
/** The detector's aim: its box centre misses the part's centre by up to this much, mm. */
const DETECTOR_JITTER_MM = 1.5;

/**
 * real: a capture from the rig. The part rests on the belt (upright, or on a side 20% of the
 * time) at any spin; the camera's elevation is the rig's, +-8 degrees as the part sits across
 * the lens' field of view. The light is the rig's fixed LED panel above and in front of the
 * camera (diffuse: high ambient, a soft short shadow), steady but for the camera's auto
 * exposure and white balance drifting from capture to capture. Then what a webcam adds:
 * vignette, sensor noise, motion/focus blur (the belt moves), JPEG (config/data.yaml).
 */
function real(shot: Shot, rng: Rng): StyledImage {
  const big = shot.size * shot.supersample;
  const focal = (big * RIG_CAMERA_MM) / RIG_CROP_MM; // constant mm per pixel: RIG_CROP_MM across the frame at the belt
  const part: SceneObject = {
    mesh: shot.mesh,
    rotation: pose(rng, RIG_ELEVATION - 8, RIG_ELEVATION + 8, 0.2),
    offset: [rng.uniform(-1, 1) * DETECTOR_JITTER_MM, rng.uniform(-1, 1) * DETECTOR_JITTER_MM, 0],
    albedo: shot.albedo,
    specular: 0.3,
  };
  const dir: Vec3 = normalize([rng.uniform(-0.1, 0.1), 1, 0.6]);
  const lights: Light[] = [{ dir, color: grey(0.8) }];
  const frame = downsample(rasterize([part], { size: big, distance: RIG_CAMERA_MM, focal }, lights, grey(0.4)), shot.supersample);
  const bg = beltTexture(shot.size, rng);
  dropShadow(bg, frame.coverage, 0, shot.size * 0.02, Math.max(1, Math.round(shot.size / 24)), 0.3);
  const image = composite(frame, bg);
  const tint: Rgb = [rng.uniform(0.92, 1.08), 1, rng.uniform(0.9, 1.08)];
  cameraEffects(image, tint, rng.uniform(0.85, 1.15), rng.uniform(0.15, 0.35), rng.uniform(0.01, 0.03), rng);
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
