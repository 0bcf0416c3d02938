// Shared by the float64 references of the NCHW image ops.

export type Shape4 = [n: number, c: number, h: number, w: number];

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
