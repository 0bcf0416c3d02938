// Prepended to every kernel family by `wgsl()` (engine/kernel.ts).
// Workgroup size: the launcher always sets these (Kernel.spec.workgroupSize),
// so one source serves every tile shape.
override WG_X: u32;
override WG_Y: u32;
override WG_Z: u32;

// The linear index of a 1-D launch whose workgroups `groups1d` folded into
// two dimensions (above 65,535 per dimension).
fn linear_index(lid: u32, wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG_X + lid;
}
