// The sizes of one conv2d, shared by the conv launchers (conv2d, conv_vec4, conv_tiled).

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

/** The 13 geometry words that open the parameter structs of conv2d.wgsl and conv2d_tiled.wgsl, in ConvGeometry's order. */
export function geometryWords(g: ConvGeometry): number[] {
  return [g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW];
}
