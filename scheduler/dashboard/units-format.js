// How the dashboard writes times, money, sizes and rates. Times are UTC (the federation's clock),
// money arrives as decimal strings of minor units (bigints do not survive JSON numbers).

const pad = (n) => String(n).padStart(2, '0');

/** "14:05:09" (UTC). */
export function clockText(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** "14:05" (UTC). */
export function hourMinuteText(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** "06-14 14:05 UTC". */
export function dateTimeText(ms) {
  if (ms === undefined || ms === null) return '—';
  const d = new Date(ms);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** "in 12 min", "3 h ago" relative to `nowMs`. */
export function relativeText(ms, nowMs) {
  if (ms === undefined || ms === null || nowMs === undefined) return '';
  const deltaSec = Math.round((ms - nowMs) / 1000);
  const size = Math.abs(deltaSec);
  const amount = size < 90 ? `${size} s` : size < 5400 ? `${Math.round(size / 60)} min` : size < 172800 ? `${(size / 3600).toFixed(1)} h` : `${Math.round(size / 86400)} d`;
  return deltaSec >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** Decimal digits of a currency's minor unit (2 for EUR, 0 for JPY). */
function minorDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** "12.34 EUR" from minor units as a decimal string, exactly (no floating point). */
export function moneyText(amountMinor, currency) {
  if (amountMinor === undefined || amountMinor === null) return '—';
  const text = String(amountMinor);
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).replace(/^0+(?=\d)/, '');
  const places = minorDigits(currency);
  const whole = places === 0 ? digits : digits.length > places ? digits.slice(0, -places) : '0';
  const fraction = places === 0 ? '' : `.${digits.padStart(places, '0').slice(-places)}`;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '−' : ''}${grouped}${fraction} ${currency}`;
}

/** "1.5 MB" (decimal units, as rates are quoted). */
export function bytesText(bytes) {
  if (bytes === undefined || bytes === null) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function rateText(bytesPerSec) {
  return bytesPerSec ? `${bytesText(bytesPerSec)}/s` : '—';
}

/** "52.3 %" from parts per million. */
export function ppmText(ppm) {
  return ppm === undefined || ppm === null ? '—' : `${(ppm / 10000).toFixed(1)} %`;
}

export function shortId(id) {
  return id.length > 14 ? `${id.slice(0, 12)}…` : id;
}
