// The sizes of one conv2d, shared by the conv launchers (conv2d, conv2d_vec4, conv2d_tiled).

/** Sizes of one conv2d; all dimensions already validated by the op. */
export interface ConvGeometry {
  batch: number;
  inChannels: number;
  inH: number;
  inW: number;
  outChannels: number;
  outH: number;
  outW: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
}

/** Words of the ConvGeometry struct that opens every conv kernel's parameters (conv2d_params.wgsl): 13 sizes and 3 of padding. */
export const GEOMETRY_WORDS = 16;

/** The ConvGeometry struct's words, in ConvGeometry's order; sizes a kernel does not read (conv2d_vec4's kernel, stride, padding) may be left out as 0. */
export function geometryWords(g: Pick<ConvGeometry, 'batch' | 'inChannels' | 'inH' | 'inW' | 'outChannels' | 'outH' | 'outW'> & Partial<ConvGeometry>): number[] {
  const { kernelH = 0, kernelW = 0, strideH = 0, strideW = 0, padH = 0, padW = 0 } = g;
  return [g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, kernelH, kernelW, strideH, strideW, padH, padW, 0, 0, 0];
}
