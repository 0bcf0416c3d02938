// Pictures in the page: a File to the planar [3,H,W] floats in [0,1] that the
// model takes (as train/image.ts reads PNGs under Node: v/255, no colour
// management), and planar floats back to a canvas and a PNG.

export interface Planar {
  rgb: Float32Array;
  h: number;
  w: number;
}

/** Decodes an image file with the browser's decoder, without colour-space conversion, so PNG values arrive as stored. */
export async function decodeImage(file: Blob): Promise<Planar> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width: w, height: h } = bitmap;
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const rgb = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) rgb[c * h * w + p] = rgba[4 * p + c] / 255;
  return { rgb, h, w };
}

/** Draws planar floats (clamped to [0,1], rounded to 8 bits) onto `canvas`, resizing it. */
export function drawPlanar(canvas: HTMLCanvasElement, { rgb, h, w }: Planar): void {
  canvas.width = w;
  canvas.height = h;
  const image = new ImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < 3; c++) image.data[4 * p + c] = Math.round(Math.min(1, Math.max(0, rgb[c * h * w + p])) * 255);
    image.data[4 * p + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}

export function canvasToPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the PNG'))), 'image/png'));
}

/** A test pattern with edges at every angle and scale, for training when no photo is loaded. */
export function testPattern(h: number, w: number): Planar {
  const rgb = new Float32Array(3 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const r = Math.hypot(x - w / 2, y - h / 2);
      const a = Math.atan2(y - h / 2, x - w / 2);
      const rings = Math.sin(r * 0.35) > 0 ? 1 : 0;
      const spokes = Math.sin(a * 12) > 0 ? 1 : 0;
      const checker = (Math.floor(x / 11) + Math.floor(y / 11)) % 2;
      const p = y * w + x;
      rgb[p] = 0.15 + 0.7 * rings;
      rgb[h * w + p] = 0.1 + 0.8 * (r < h / 3 ? spokes : checker);
      rgb[2 * h * w + p] = 0.2 + 0.6 * ((x * 7 + y * 3) % 64 < 32 ? 1 : 0);
    }
  }
  return { rgb, h, w };
}
