/**
 * Address bytes as text, the way `ip` prints them: what the decoders put in the objects
 * they return.
 * @internal
 * @module
 */

/** Text of 4 or 16 address bytes (IPv6 in its RFC 5952 form, as `ip` prints it). */
export function ipText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) return Buffer.from(b).toString('hex');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // longest run (>= 2) of zero groups becomes '::'
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Bytes → `aa:bb:…` as `ip` prints a link-layer address. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export function macText(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += i === 0 ? HEX[b[i]!]! : `:${HEX[b[i]!]!}`;
  return s;
}
