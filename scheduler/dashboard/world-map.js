/* global d3, topojson */
// The world map: Natural Earth 1:110m country borders (world-atlas, TopoJSON) in d3-geo's Natural
// Earth projection, drawn as SVG; ground stations, satellites at their sub-satellite points with
// their ground tracks and footprints, the space contacts open now as great-circle lines, and the
// countries a selected job's data may go to. d3-geo draws lines and circles on the sphere, so
// tracks and footprints are cut correctly at the antimeridian and over the poles.
import { replaceChildren, svg } from './dom-builder.js';

const WIDTH = 960;
const HEIGHT = 500;
/** Satellites are labelled only when there are few enough for labels to be readable. */
const SATELLITE_LABELS_MAX = 30;

export class WorldMap {
  #path;
  #projection;
  #layers;
  #countriesById = new Map();
  #featuresById = new Map();
  #regionsClasses = [];
  #positions = new Map();
  #highlight = { stations: new Set(), node: undefined };
  #last;

  constructor(root, topology) {
    this.#projection = d3.geoNaturalEarth1().fitExtent([[6, 6], [WIDTH - 6, HEIGHT - 6]], { type: 'Sphere' });
    this.#path = d3.geoPath(this.#projection);
    const layer = (name) => root.querySelector(`g.${name}`);
    this.#layers = {
      sphere: layer('sphere-layer'), countries: layer('countries'), footprints: layer('footprints'), tracks: layer('tracks'),
      links: layer('links'), stations: layer('stations'), satellites: layer('satellites'),
    };
    replaceChildren(this.#layers.sphere,
      svg('path', { class: 'sphere', d: this.#path({ type: 'Sphere' }) }),
      svg('path', { class: 'graticule', d: this.#path(d3.geoGraticule10()) }));
    const features = topojson.feature(topology, topology.objects.countries).features;
    const paths = features.map((feature) => {
      const element = svg('path', { class: 'country', d: this.#path(feature), dataset: { id: feature.id ?? '' } },
        svg('title', {}, feature.properties?.name ?? ''));
      if (feature.id !== undefined) {
        this.#featuresById.set(feature.id, feature);
        const list = this.#countriesById.get(feature.id) ?? [];
        list.push(element);
        this.#countriesById.set(feature.id, list);
      }
      return element;
    });
    replaceChildren(this.#layers.countries, paths);
  }

  /** Draws GET v1/dashboard/map's answer. Returns counts for the panel's summary. */
  update(map) {
    this.#last = map;
    this.#positions = new Map();
    const stationNodes = [];
    let approximate = 0;
    let unplaced = 0;
    for (const station of map.stations) {
      let lonLat;
      let isApproximate = false;
      if (station.latitudeDeg !== undefined && station.longitudeDeg !== undefined) lonLat = [station.longitudeDeg, station.latitudeDeg];
      else if (station.countryId !== undefined && this.#featuresById.has(station.countryId)) {
        lonLat = d3.geoCentroid(this.#featuresById.get(station.countryId));
        isApproximate = true;
        approximate += 1;
      }
      if (lonLat === undefined) {
        unplaced += 1;
        continue;
      }
      this.#positions.set(station.ipn, lonLat);
      const point = this.#projection(lonLat);
      if (point === null) continue;
      const [x, y] = point;
      stationNodes.push(svg('g', { dataset: { ipn: station.ipn, id: station.id } },
        svg('path', {
          class: ['station', isApproximate && 'approximate', this.#highlight.stations.has(station.id) && 'downlink-allowed', this.#highlight.node === station.id && 'assigned'],
          d: `M${x.toFixed(1)},${(y - 5.5).toFixed(1)}L${(x + 5).toFixed(1)},${(y + 3.5).toFixed(1)}L${(x - 5).toFixed(1)},${(y + 3.5).toFixed(1)}Z`,
          dataset: { id: station.id },
        }, svg('title', {}, `${station.name} (${station.id})${station.operator ? `, ${station.operator}` : ''}${station.country ? `, ${station.country}` : ''}${isApproximate ? ' — position approximate: the country, not the site' : ''}`)),
        svg('text', { class: 'map-label station-label', x: (x + 6).toFixed(1), y: (y + 3).toFixed(1) }, station.id)));
    }
    replaceChildren(this.#layers.stations, stationNodes);

    const placed = map.satellites.filter((s) => s.latitudeDeg !== undefined);
    const labelled = placed.length <= SATELLITE_LABELS_MAX;
    const satelliteNodes = [];
    const footprints = [];
    const tracks = [];
    for (const sat of placed) {
      const lonLat = [sat.longitudeDeg, sat.latitudeDeg];
      this.#positions.set(sat.ipn, lonLat);
      if (sat.track !== undefined && sat.track.length > 1) tracks.push(svg('path', { class: 'track', d: this.#path({ type: 'LineString', coordinates: sat.track }) }));
      if (sat.footprintRadiusDeg !== undefined) {
        footprints.push(svg('path', { class: 'footprint', d: this.#path(d3.geoCircle().center(lonLat).radius(sat.footprintRadiusDeg).precision(3)()) }));
      }
      const point = this.#projection(lonLat);
      if (point === null) continue;
      const [x, y] = point;
      satelliteNodes.push(svg('g', { dataset: { ipn: sat.ipn, id: sat.id } },
        svg('circle', { class: ['satellite', this.#highlight.node === sat.id && 'assigned'], cx: x.toFixed(1), cy: y.toFixed(1), r: 4, dataset: { id: sat.id } },
          svg('title', {}, `${sat.name} (${sat.id}, NORAD ${sat.catalogNumber}) ${sat.latitudeDeg.toFixed(1)}°, ${sat.longitudeDeg.toFixed(1)}°, ${Math.round(sat.altitudeKm)} km`)),
        labelled ? svg('text', { class: 'map-label', x: (x + 6).toFixed(1), y: (y - 5).toFixed(1) }, sat.name) : undefined));
    }
    replaceChildren(this.#layers.satellites, satelliteNodes);
    replaceChildren(this.#layers.footprints, footprints);
    replaceChildren(this.#layers.tracks, tracks);
    this.updateLinks(map.links);
    return { stations: map.stations.length, approximate, unplaced, satellites: map.satellites.length, placed: placed.length };
  }

  /** Redraws only the open links (the `links` event), using the positions of the last update. */
  updateLinks(links) {
    const lines = [];
    for (const link of links) {
      const a = this.#positions.get(link.aIpn);
      const b = this.#positions.get(link.bIpn);
      if (a === undefined || b === undefined) continue;
      lines.push(svg('path', { class: 'link', d: this.#path({ type: 'LineString', coordinates: [a, b] }), dataset: { a: link.a, b: link.b } },
        svg('title', {}, `${link.a} ↔ ${link.b}`)));
    }
    replaceChildren(this.#layers.links, lines);
    return lines.length;
  }

  /**
   * Shades the countries of a job's sovereignty rules (each rule its own class) and marks its
   * node and the stations it may downlink to; `undefined` clears.
   */
  setJob(regions, nodeId) {
    for (const [element, name] of this.#regionsClasses) element.classList.remove(name);
    this.#regionsClasses = [];
    this.#highlight = { stations: new Set(), node: nodeId };
    for (const region of regions ?? []) {
      for (const id of region.numericIds) {
        for (const element of this.#countriesById.get(id) ?? []) {
          const name = `region-${region.rule}`;
          element.classList.add(name);
          this.#regionsClasses.push([element, name]);
        }
      }
      for (const station of region.stations ?? []) this.#highlight.stations.add(station);
    }
    if (this.#last !== undefined) this.update(this.#last);
  }
}
