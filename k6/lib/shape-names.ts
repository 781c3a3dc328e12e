// The shape names alone, free of k6 imports, so that the Node runner (k6/run.ts) can offer them too.

export const SHAPE_NAMES = ['smoke', 'average', 'stress', 'spike', 'soak', 'contention'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];

export function isShapeName(name: string): name is ShapeName {
  return (SHAPE_NAMES as readonly string[]).includes(name);
}
