#!/usr/bin/env python3
"""Anchor for the pass-finder benchmark: Skyfield's EarthSatellite.find_events over every
satellite x station pair. Run by bench/run.ts; prints one JSON object on stdout.

Usage: skyfield_find_events.py TLE_FILE STATIONS_CSV START_ISO_UTC DURATION_HOURS MASK_DEG
       [--satellites N] [--stations N] [--runs N]

The timed part is what a Skyfield user pays per search: building EarthSatellite (SGP4
initialisation) and the wgs84 sites, then find_events for each pair. Reading the files, importing
Skyfield and loading its timescale are not timed. A pass is one interval above the mask inside the
window, counted as orbitfed counts them (a satellite already up at the start or still up at the end
is one pass).
"""
import argparse
import csv
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

import skyfield
from sgp4.api import accelerated
from skyfield.api import EarthSatellite, load, wgs84

RISE, SET = 0, 2


def read_tles(path):
    """(name, line1, line2) for each record of a 3LE or 2-line file."""
    lines = [line.rstrip('\r\n') for line in open(path, encoding='utf-8') if line.strip()]
    records = []
    name = None
    i = 0
    while i < len(lines):
        if lines[i].startswith('1 ') and i + 1 < len(lines) and lines[i + 1].startswith('2 '):
            records.append((name or lines[i][2:7].strip(), lines[i], lines[i + 1]))
            name = None
            i += 2
        else:
            name = lines[i].strip()
            i += 1
    return records


def read_stations(path):
    with open(path, newline='', encoding='utf-8') as f:
        return [(row['station'], float(row['lat_deg']), float(row['lon_deg']), float(row['alt_m'])) for row in csv.DictReader(f)]


def count_passes(sat, site, t0, t1, mask_deg):
    times, events = sat.find_events(site, t0, t1, altitude_degrees=mask_deg)
    rises = sum(1 for e in events if e == RISE)
    edges = [e for e in events if e in (RISE, SET)]
    if edges:
        up_at_start = edges[0] == SET
    else:
        # No rise or set in the window: either never up or up throughout.
        alt, _, _ = (sat - site).at(t0).altaz()
        up_at_start = alt.degrees >= mask_deg
    return len(events), rises + (1 if up_at_start else 0)


def search(records, stations, ts, t0, t1, mask_deg):
    satellites = [EarthSatellite(l1, l2, name, ts) for name, l1, l2 in records]
    sites = [wgs84.latlon(lat, lon, elevation_m=alt) for _, lat, lon, alt in stations]
    events = passes = 0
    for sat in satellites:
        for site in sites:
            e, p = count_passes(sat, site, t0, t1, mask_deg)
            events += e
            passes += p
    return events, passes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('tle_file')
    parser.add_argument('stations_csv')
    parser.add_argument('start_iso_utc')
    parser.add_argument('duration_hours', type=float)
    parser.add_argument('mask_deg', type=float)
    parser.add_argument('--satellites', type=int, default=None)
    parser.add_argument('--stations', type=int, default=None)
    parser.add_argument('--runs', type=int, default=1)
    args = parser.parse_args()

    records = read_tles(args.tle_file)[: args.satellites]
    stations = read_stations(args.stations_csv)[: args.stations]
    ts = load.timescale()  # built-in leap-second and ΔT tables; no download
    start = datetime.fromisoformat(args.start_iso_utc.replace('Z', '+00:00')).astimezone(timezone.utc)
    t0 = ts.from_datetime(start)
    t1 = ts.from_datetime(start + timedelta(hours=args.duration_hours))

    seconds = []
    events = passes = 0
    for _ in range(args.runs):
        began = time.perf_counter()
        events, passes = search(records, stations, ts, t0, t1, args.mask_deg)
        seconds.append(time.perf_counter() - began)
    json.dump({
        'seconds': statistics.median(seconds),
        'runSeconds': seconds,
        'events': events,
        'passes': passes,
        'satellites': len(records),
        'stations': len(stations),
        'skyfield': skyfield.__version__,
        'python': sys.version.split()[0],
        'sgp4Accelerated': bool(accelerated),
    }, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
