// A ground station as the rest of orbitfed sees it: plain readonly data, validated at the edge
// (`stations-file.ts`).

/** One vertex of an azimuth-dependent horizon mask; the mask is linear between vertices and wraps at 360°. */
export interface HorizonMaskPoint {
  readonly azimuthDeg: number;
  readonly minElevationDeg: number;
}

export interface Station {
  /** Unique, stable id (`SVALBARD`, `gs-kiruna-1`). */
  readonly id: string;
  /** Human name; the id when the source gives none. */
  readonly name: string;
  /** Geodetic latitude on WGS84, degrees north. */
  readonly latitudeDeg: number;
  /** Longitude, degrees east, in [-180, 180]. */
  readonly longitudeDeg: number;
  /** Height above the WGS84 ellipsoid, metres. */
  readonly altitudeM: number;
  /** Minimum elevation for a pass; undefined = the caller's default (the CLI's `--min-elevation`). */
  readonly minElevationDeg: number | undefined;
  /** Azimuth-dependent horizon; where both are given, the higher of mask and `minElevationDeg` applies. */
  readonly horizonMask: readonly HorizonMaskPoint[] | undefined;
  /** ISO 3166-1 alpha-2 country code, upper case. */
  readonly country: string | undefined;
  readonly uplinkRateBytesPerSec: number | undefined;
  readonly downlinkRateBytesPerSec: number | undefined;
  readonly operator: string | undefined;
}
