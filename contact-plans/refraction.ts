// Standard atmospheric refraction, for apparent (rather than geometric) elevations.

const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

/**
 * Refraction to add to a true (geometric) elevation, radians: Sæmundsson (1986),
 * R = 1.02′ / tan(h + 10.3 / (h + 5.11)), h in degrees, for 10 °C and 101 kPa. Below −1° the
 * value at −1° is used (the formula is meant for the visible sky).
 */
export function refractionRad(elevationRad: number): number {
  const hDeg = Math.max(elevationRad * DEG, -1);
  return ((1.02 / Math.tan((hDeg + 10.3 / (hDeg + 5.11)) * RAD)) / 60) * RAD;
}
