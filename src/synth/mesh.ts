// Triangle meshes built from primitives (boxes, cylinders, extruded profiles), in millimetres, y up.
import { normalize, type Vec3 } from './vec.ts';

/** A triangle soup: 9 floats of position and 9 of vertex normal per triangle. */
export class Mesh {
  readonly positions: number[] = [];
  readonly normals: number[] = [];
  private cachedBounds: { center: Vec3; radius: number } | undefined;

  get triangleCount(): number {
    return this.positions.length / 9;
  }

  /** One triangle; `na..nc` default to the face normal (flat shading). */
  triangle(a: Vec3, b: Vec3, c: Vec3, na?: Vec3, nb?: Vec3, nc?: Vec3): void {
    const face = faceNormal(a, b, c);
    this.cachedBounds = undefined;
    this.positions.push(...a, ...b, ...c);
    this.normals.push(...(na ?? face), ...(nb ?? face), ...(nc ?? face));
  }

  /** A quad a-b-c-d as two triangles. */
  quad(a: Vec3, b: Vec3, c: Vec3, d: Vec3, na?: Vec3, nb?: Vec3, nc?: Vec3, nd?: Vec3): void {
    this.triangle(a, b, c, na, nb, nc);
    this.triangle(a, c, d, na, nc, nd);
  }

  /** Axis-aligned box between two corners. */
  box(x0: number, y0: number, z0: number, x1: number, y1: number, z1: number): void {
    const p = (x: number, y: number, z: number): Vec3 => [x, y, z];
    this.quad(p(x0, y0, z0), p(x1, y0, z0), p(x1, y0, z1), p(x0, y0, z1)); // bottom
    this.quad(p(x0, y1, z0), p(x0, y1, z1), p(x1, y1, z1), p(x1, y1, z0)); // top
    this.quad(p(x0, y0, z0), p(x0, y1, z0), p(x1, y1, z0), p(x1, y0, z0)); // back
    this.quad(p(x0, y0, z1), p(x1, y0, z1), p(x1, y1, z1), p(x0, y1, z1)); // front
    this.quad(p(x0, y0, z0), p(x0, y0, z1), p(x0, y1, z1), p(x0, y1, z0)); // left
    this.quad(p(x1, y0, z0), p(x1, y1, z0), p(x1, y1, z1), p(x1, y0, z1)); // right
  }

  /** Vertical cylinder around (cx, cz) from y0 to y1, smooth sides, optional caps. */
  cylinder(cx: number, cz: number, r: number, y0: number, y1: number, segments: number, top = true, bottom = true): void {
    for (let i = 0; i < segments; i++) {
      const a0 = (2 * Math.PI * i) / segments;
      const a1 = (2 * Math.PI * (i + 1)) / segments;
      const n0: Vec3 = [Math.cos(a0), 0, Math.sin(a0)];
      const n1: Vec3 = [Math.cos(a1), 0, Math.sin(a1)];
      const p00: Vec3 = [cx + r * n0[0], y0, cz + r * n0[2]];
      const p01: Vec3 = [cx + r * n0[0], y1, cz + r * n0[2]];
      const p10: Vec3 = [cx + r * n1[0], y0, cz + r * n1[2]];
      const p11: Vec3 = [cx + r * n1[0], y1, cz + r * n1[2]];
      this.quad(p00, p01, p11, p10, n0, n0, n1, n1);
      if (top) this.triangle([cx, y1, cz], p11, p01, [0, 1, 0], [0, 1, 0], [0, 1, 0]);
      if (bottom) this.triangle([cx, y0, cz], p00, p10, [0, -1, 0], [0, -1, 0], [0, -1, 0]);
    }
  }

  /**
   * A convex profile in the (z, y) plane extruded along x from x0 to x1 (slopes are this):
   * one flat quad per profile edge plus the two end caps.
   */
  extrudeProfile(profile: ReadonlyArray<[number, number]>, x0: number, x1: number): void {
    const n = profile.length;
    for (let i = 0; i < n; i++) {
      const [za, ya] = profile[i]!;
      const [zb, yb] = profile[(i + 1) % n]!;
      this.quad([x0, ya, za], [x1, ya, za], [x1, yb, zb], [x0, yb, zb]);
    }
    for (let i = 1; i < n - 1; i++) {
      const [z0, y0] = profile[0]!;
      const [za, ya] = profile[i]!;
      const [zb, yb] = profile[i + 1]!;
      this.triangle([x0, y0, z0], [x0, ya, za], [x0, yb, zb]);
      this.triangle([x1, y0, z0], [x1, yb, zb], [x1, ya, za]);
    }
  }

  /** Centre of the bounding box and the radius of the bounding sphere around it. */
  bounds(): { center: Vec3; radius: number } {
    return (this.cachedBounds ??= this.computeBounds());
  }

  private computeBounds(): { center: Vec3; radius: number } {
    const lo: Vec3 = [Infinity, Infinity, Infinity];
    const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
    for (let i = 0; i < this.positions.length; i += 3)
      for (let k = 0; k < 3; k++) {
        lo[k] = Math.min(lo[k]!, this.positions[i + k]!);
        hi[k] = Math.max(hi[k]!, this.positions[i + k]!);
      }
    const center: Vec3 = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
    return { center, radius: Math.hypot(hi[0] - center[0], hi[1] - center[1], hi[2] - center[2]) };
  }
}

function faceNormal(a: Vec3, b: Vec3, c: Vec3): Vec3 {
  const u: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const v: Vec3 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
  return normalize([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]);
}
