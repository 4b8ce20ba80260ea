// The four background levels of the lab's flash, shared by the robot agent, the baseline sender and the page.
// ARGB with blue 0: the binding sets properties as floats, and 0xffRRGG00 is exact in a float's 24-bit mantissa.
export const FLASH_LEVELS_ARGB = [0xff101000, 0xff585800, 0xffa0a000, 0xffe8e800];

/** The luma (BT.601, 0..255) each level shows as, for mapping a displayed picture back to a level. */
export const FLASH_LEVELS_LUMA = FLASH_LEVELS_ARGB.map((argb) => {
  const r = (argb >> 16) & 0xff;
  const g = (argb >> 8) & 0xff;
  const b = argb & 0xff;
  return 0.299 * r + 0.587 * g + 0.114 * b;
});

/** The CSS colour of a level, for the baseline's canvas. */
export const flashCss = (level: number): string =>
  `#${((FLASH_LEVELS_ARGB[level] ?? 0) & 0xffffff).toString(16).padStart(6, '0')}`;

/** The level whose luma is nearest to `luma`. */
export function flashLevel(luma: number): number {
  let level = 0;
  for (let k = 1; k < FLASH_LEVELS_LUMA.length; k++)
    if (Math.abs(luma - (FLASH_LEVELS_LUMA[k] ?? 0)) < Math.abs(luma - (FLASH_LEVELS_LUMA[level] ?? 0)))
      level = k;
  return level;
}
