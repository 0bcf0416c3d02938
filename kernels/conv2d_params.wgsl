// The sizes of one conv2d, in kernels/conv2d_geometry.ts's order: the first
// member of every conv kernel's parameter struct (conv2d.wgsl,
// conv2d_tiled.wgsl, conv2d_vec4.wgsl), declared `@size(64) g: ConvGeometry`
// so that the next member starts at word 16 under any uniform layout rules
// (newer WGSL packs it right after the 13th word); geometryWords() writes the
// 13 sizes and 3 zero words.
struct ConvGeometry {
  batch: u32,
  in_channels: u32,
  in_h: u32,
  in_w: u32,
  out_channels: u32,
  out_h: u32,
  out_w: u32,
  kernel_h: u32,
  kernel_w: u32,
  stride_h: u32,
  stride_w: u32,
  pad_h: u32,
  pad_w: u32,
}
