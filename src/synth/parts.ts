// The catalogue of LEGO parts the demo renderer knows, each generated from a few parameters.
import { Mesh } from './mesh.ts';

/** LEGO geometry in millimetres: stud pitch, brick and plate heights, stud size. */
const PITCH = 8;
const BRICK_H = 9.6;
const PLATE_H = 3.2;
const STUD_R = 2.4;
const STUD_H = 1.7;
/** Real parts are 0.1 mm smaller on each side than their grid cell. */
const GAP = 0.1;
const STUD_SEGMENTS = 12;

/** The parameters a part is generated from. Sizes are in studs: `width` along z, `length` along x. */
export type PartShape =
  | { kind: 'brick' | 'plate' | 'tile'; width: number; length: number }
  /** 45-degree slope: studs on the back row only, the face falls towards the front. */
  | { kind: 'slope'; width: number; length: number }
  /** Round part: a cylinder `diameter` studs across, `height` mm tall, studs on top or a smooth tile face. */
  | { kind: 'round'; diameter: number; height: number; studs: boolean };

export interface PartSpec {
  id: string;
  name: string;
  shape: PartShape;
}

const box = (id: string, name: string, kind: 'brick' | 'plate' | 'tile', width: number, length: number): PartSpec => ({
  id,
  name,
  shape: { kind, width, length },
});

/** Every part the renderer can draw, by Rebrickable/LDraw part id. */
export const PART_CATALOGUE: ReadonlyMap<string, PartSpec> = new Map(
  (<PartSpec[]>[
    box('3001', 'Brick 2 x 4', 'brick', 2, 4),
    box('3002', 'Brick 2 x 3', 'brick', 2, 3),
    box('3003', 'Brick 2 x 2', 'brick', 2, 2),
    box('3004', 'Brick 1 x 2', 'brick', 1, 2),
    box('3005', 'Brick 1 x 1', 'brick', 1, 1),
    box('3010', 'Brick 1 x 4', 'brick', 1, 4),
    box('3009', 'Brick 1 x 6', 'brick', 1, 6),
    box('3020', 'Plate 2 x 4', 'plate', 2, 4),
    box('3021', 'Plate 2 x 3', 'plate', 2, 3),
    box('3022', 'Plate 2 x 2', 'plate', 2, 2),
    box('3023', 'Plate 1 x 2', 'plate', 1, 2),
    box('3024', 'Plate 1 x 1', 'plate', 1, 1),
    box('3710', 'Plate 1 x 4', 'plate', 1, 4),
    box('3795', 'Plate 2 x 6', 'plate', 2, 6),
    box('3068', 'Tile 2 x 2', 'tile', 2, 2),
    box('3069', 'Tile 1 x 2', 'tile', 1, 2),
    box('3070', 'Tile 1 x 1', 'tile', 1, 1),
    box('2431', 'Tile 1 x 4', 'tile', 1, 4),
    { id: '3039', name: 'Slope 45 2 x 2', shape: { kind: 'slope', width: 2, length: 2 } },
    { id: '3040', name: 'Slope 45 2 x 1', shape: { kind: 'slope', width: 2, length: 1 } },
    { id: '3037', name: 'Slope 45 2 x 4', shape: { kind: 'slope', width: 2, length: 4 } },
    { id: '3062', name: 'Brick Round 1 x 1', shape: { kind: 'round', diameter: 1, height: BRICK_H, studs: true } },
    { id: '4073', name: 'Plate Round 1 x 1', shape: { kind: 'round', diameter: 1, height: PLATE_H, studs: true } },
    { id: '98138', name: 'Tile Round 1 x 1', shape: { kind: 'round', diameter: 1, height: PLATE_H, studs: false } },
    { id: '3941', name: 'Brick Round 2 x 2', shape: { kind: 'round', diameter: 2, height: BRICK_H, studs: true } },
  ]).map((p): [string, PartSpec] => [p.id, p]),
);

/** Builds the triangle mesh of a part from its shape. */
export function buildPartMesh(shape: PartShape): Mesh {
  const mesh = new Mesh();
  switch (shape.kind) {
    case 'brick':
    case 'plate':
    case 'tile': {
      const h = shape.kind === 'brick' ? BRICK_H : PLATE_H;
      const x1 = shape.length * PITCH - GAP;
      const z1 = shape.width * PITCH - GAP;
      if (shape.kind === 'tile') {
        // A tile has no studs, only the groove round its bottom edge.
        mesh.box(GAP, 0.6, GAP, x1, h, z1);
        mesh.box(GAP + 0.4, 0, GAP + 0.4, x1 - 0.4, 0.6, z1 - 0.4);
      } else {
        mesh.box(GAP, 0, GAP, x1, h, z1);
        studGrid(mesh, shape.length, shape.width, h);
      }
      return mesh;
    }
    case 'slope': {
      // Profile in (z, y): full depth at the bottom, one stud row flat at the top back, a 45-degree face to a low front lip.
      const depth = shape.width * PITCH - GAP;
      const lip = BRICK_H - (shape.width - 1) * PITCH;
      const profile: Array<[number, number]> = [
        [GAP, 0],
        [depth, 0],
        [depth, BRICK_H],
        [depth - PITCH + GAP, BRICK_H],
        [GAP, Math.max(lip, 1)],
      ];
      mesh.extrudeProfile(profile, GAP, shape.length * PITCH - GAP);
      for (let i = 0; i < shape.length; i++) mesh.cylinder((i + 0.5) * PITCH, depth - PITCH / 2 + GAP, STUD_R, BRICK_H, BRICK_H + STUD_H, STUD_SEGMENTS);
      return mesh;
    }
    case 'round': {
      const r = (shape.diameter * PITCH) / 2 - GAP;
      const c = (shape.diameter * PITCH) / 2;
      mesh.cylinder(c, c, r, 0, shape.height, 24);
      if (shape.studs) studGrid(mesh, shape.diameter, shape.diameter, shape.height);
      return mesh;
    }
  }
}

function studGrid(mesh: Mesh, length: number, width: number, top: number): void {
  for (let i = 0; i < length; i++)
    for (let j = 0; j < width; j++) mesh.cylinder((i + 0.5) * PITCH, (j + 0.5) * PITCH, STUD_R, top, top + STUD_H, STUD_SEGMENTS);
}
