/**
 * Splits an order's discount over its lines in proportion to their totals (each share rounded down, then
 * the won left over handed to the lines with the largest remainders, earlier lines first on ties), so every
 * line knows what was really paid for it: the shares add up to the discount exactly and never exceed their
 * line. Sales statistics and partial refunds use these amounts. Integer arithmetic throughout (BigInt for
 * the products, which can pass 2^53).
 */
export function allocateDiscount(lineTotals: number[], discount: number): number[] {
  return allocateProportionally(lineTotals, discount);
}

/** `amount` split over `weights` in proportion, in whole won, adding up to `amount` exactly. */
export function allocateProportionally(weights: number[], amount: number): number[] {
  const whole = BigInt(weights.reduce((sum, weight) => sum + weight, 0));
  if (amount <= 0 || whole === 0n) return weights.map(() => 0);
  const target = BigInt(Math.min(amount, Number(whole)));
  const parts = weights.map((weight, index) => {
    const scaled = BigInt(weight) * target;
    return { index, share: scaled / whole, remainder: scaled % whole };
  });
  let left = target - parts.reduce((sum, part) => sum + part.share, 0n);
  const byRemainder = [...parts].sort((a, b) =>
    b.remainder > a.remainder ? 1 : b.remainder < a.remainder ? -1 : a.index - b.index,
  );
  for (const part of byRemainder) {
    if (left === 0n) break;
    part.share += 1n;
    left--;
  }
  return parts.map((part) => Number(part.share));
}
