// The pictures a report links to: the top-level images in the out folders of gated stages
// (for this project, evaluate's confusion matrices and training curves). Sub-folders
// (thumbnails) are left out; a chart written as both PNG and SVG is linked once, as PNG,
// which every markdown renderer shows.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Pipeline } from '../../engine/pipeline-config.ts';
import { relativeTo } from './paths.ts';

export interface StageImage {
  stage: string;
  /** The file name without extension ("part-confusion"). */
  name: string;
  /** Project-relative path. */
  path: string;
}

const IMAGE = /\.(png|svg)$/i;

function imagesIn(root: string, dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(join(root, dir)).isDirectory()) return IMAGE.test(dir) ? [dir] : [];
    names = readdirSync(join(root, dir));
  } catch {
    return [];
  }
  const files = names.filter((n) => IMAGE.test(n) && statSync(join(root, dir, n)).isFile()).sort();
  const pngs = new Set(files.filter((n) => /\.png$/i.test(n)).map((n) => n.replace(IMAGE, '')));
  return files.filter((n) => /\.png$/i.test(n) || !pngs.has(n.replace(IMAGE, ''))).map((n) => `${dir}/${n}`);
}

export function stageImages(pipeline: Pipeline): StageImage[] {
  return pipeline.stages
    .filter((s) => s.gates.length > 0)
    .flatMap((s) =>
      s.outs.flatMap((o) => imagesIn(pipeline.root, o.path).map((path) => ({ stage: s.name, name: path.slice(path.lastIndexOf('/') + 1).replace(IMAGE, ''), path }))),
    );
}

/** Each image with its link as seen from the folder `from` (absolute). */
export function imageLinks(pipeline: Pipeline, from: string): { stage: string; name: string; link: string }[] {
  return stageImages(pipeline).map((i) => ({ stage: i.stage, name: i.name, link: relativeTo(from, join(pipeline.root, i.path)) }));
}
