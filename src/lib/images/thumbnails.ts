export interface ThumbnailSize {
  /** Long edge in pixels. */
  size: number;
  width: number;
  height: number;
}

/**
 * The thumbnails for an image of width × height (after auto-orientation): one per configured long
 * edge smaller than the image, and never an upscale. When some configured sizes reach or exceed the
 * image, one thumbnail at the image's own size stands in for all of them, so every image has a largest
 * preview without duplicates. Largest first.
 */
export function planThumbnails(width: number, height: number, sizes: readonly number[]): ThumbnailSize[] {
  const longEdge = Math.max(width, height);
  if (longEdge < 1) return [];
  const edges = new Set<number>();
  for (const size of sizes) edges.add(Math.min(size, longEdge));
  return [...edges]
    .sort((a, b) => b - a)
    .map((size) => {
      const scale = size / longEdge;
      // Same rounding as sharp's fit: 'inside', so the plan and the files agree.
      return {
        size,
        width: width >= height ? size : Math.max(1, Math.round(width * scale)),
        height: height > width ? size : Math.max(1, Math.round(height * scale)),
      };
    });
}

/** Dimensions after EXIF auto-orientation: orientations 5–8 swap width and height. */
export function orientedSize(
  width: number,
  height: number,
  orientation: number | undefined,
): { width: number; height: number } {
  return orientation !== undefined && orientation >= 5 && orientation <= 8
    ? { width: height, height: width }
    : { width, height };
}
