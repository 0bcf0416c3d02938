// An image in memory, as the lmfn commands read and write it, and the error for an image file
// that cannot be read or written.

export interface Image {
  width: number;
  height: number;
  /** Planar [3,H,W], nominally in [0,1]; a `.safetensors` image may hold values outside it. */
  rgb: Float32Array;
  /** [H,W] in [0,1], or null when the file had no transparency. */
  alpha: Float32Array | null;
  /** The PNG sample depth to write at; images from `.safetensors` files say 16. */
  bitDepth: 8 | 16;
  /** What the file had (palette images report 'rgb' or 'rgba'). */
  channels: 'grey' | 'rgb' | 'greyAlpha' | 'rgba';
}

/** A missing, unreadable, malformed or unsupported image file; the message starts with the path. */
export class ImageError extends Error {
  override name = 'ImageError';
}

/** Throws an ImageError naming `source` unless `image` is whole: a positive size, planes of that size, depth 8 or 16. */
export function checkImage(image: Image, source: string): void {
  const { width, height, rgb, alpha, bitDepth } = image;
  const fail = (m: string): never => {
    throw new ImageError(`${source}: cannot write image: ${m}`);
  };
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) fail(`size ${width}×${height} is not a positive integer size`);
  if (!(rgb instanceof Float32Array) || rgb.length !== 3 * width * height) fail(`rgb must be a Float32Array of 3×${height}×${width} = ${3 * width * height} values, not ${rgb?.length}`);
  if (alpha !== null && (!(alpha instanceof Float32Array) || alpha.length !== width * height)) {
    fail(`alpha must be null or a Float32Array of ${height}×${width} = ${width * height} values, not ${alpha?.length}`);
  }
  if (bitDepth !== 8 && bitDepth !== 16) fail(`bit depth ${bitDepth} (PNGs are written at 8 or 16)`);
}
