/** Serialization helpers shared by the report formats: exact money, RFC 4180 CSV, bigint-safe JSON. */

/** nano-USD as a decimal USD string with nine places, exact for any size ("-0.000000123"). */
export function usdFromNusd(nusd: bigint): string {
  const negative = nusd < 0n;
  const abs = negative ? -nusd : nusd;
  return `${negative ? '-' : ''}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, '0')}`;
}

export type CsvCell = string | number | bigint | null;

// Spreadsheets run a text cell that starts with one of these as a formula (CSV injection).
const FORMULA_START = /^[=+\-@\t\r]/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * One CSV record per RFC 4180: fields with a comma, quote, CR or LF are quoted, quotes doubled,
 * records end in CRLF, null is an empty field. Text (never numbers) that a spreadsheet would run
 * as a formula gets a leading apostrophe, the usual neutralization (decimal numbers such as
 * "-1.5" are left alone).
 */
export function csvRecord(cells: readonly CsvCell[]): string {
  return `${cells
    .map((cell) => {
      if (cell === null) return '';
      if (typeof cell !== 'string') return String(cell);
      const text = FORMULA_START.test(cell) && !DECIMAL.test(cell) ? `'${cell}` : cell;
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',')}\r\n`;
}

/**
 * JSON text in which bigints are written as exact integer numbers (JSON.stringify refuses them).
 * Takes plain data: objects, arrays, strings, numbers, bigints, booleans, null; undefined
 * properties are left out.
 */
export function toJson(value: unknown, pretty = false): string {
  const write = (v: unknown, indent: string): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'object') return JSON.stringify(v);
    const inner = pretty ? `${indent}  ` : '';
    const open = pretty ? `\n${inner}` : '';
    const close = pretty ? `\n${indent}` : '';
    const separator = pretty ? `,\n${inner}` : ',';
    if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${open}${v.map((item) => write(item, inner)).join(separator)}${close}]`;
    const entries = Object.entries(v).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return '{}';
    return `{${open}${entries.map(([k, item]) => `${JSON.stringify(k)}:${pretty ? ' ' : ''}${write(item, inner)}`).join(separator)}${close}}`;
  };
  return write(value, '');
}

/**
 * Made at first use, not when the module loads: a number format maps ICU's locale data, about 6 MB
 * of the gateway's resident memory, and a gateway that never formats a report never needs it.
 */
let smallUsd: Intl.NumberFormat | undefined;
const smallUsdFormat = (): Intl.NumberFormat => (smallUsd ??= new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3, useGrouping: false }));

/** nano-USD for people to read: "$1,234.57", and small amounts to three significant digits ("$0.000123"). */
export function usdLabel(nusd: bigint): string {
  const sign = nusd < 0n ? '-' : '';
  const abs = nusd < 0n ? -nusd : nusd;
  if (abs === 0n) return '$0.00';
  if (abs < 10_000_000n) return `${sign}$${smallUsdFormat().format(Number(abs) / 1e9)}`;
  const cents = (abs + 5_000_000n) / 10_000_000n;
  const dollars = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}$${dollars}.${(cents % 100n).toString().padStart(2, '0')}`;
}
