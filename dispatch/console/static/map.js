// The offline map: station polygons from /api/v1/jurisdictions drawn as SVG, no tiles.
const SVG = 'http://www.w3.org/2000/svg';
const M_PER_DEG = 111320;

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function rings(geometry) {
  if (!geometry) return [];
  if (geometry.type === 'Polygon') return geometry.coordinates;
  if (geometry.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

function bboxOf(points, box) {
  for (const [lon, lat] of points) {
    box[0] = Math.min(box[0], lon); box[1] = Math.min(box[1], lat);
    box[2] = Math.max(box[2], lon); box[3] = Math.max(box[3], lat);
  }
  return box;
}

// Positions along the alert's history (signals), oldest first, ending at the current one.
function track(detail) {
  const out = [];
  for (const ev of detail.events || []) {
    const loc = ev.data && ev.data.location;
    if (loc && typeof loc.lat === 'number') out.push([loc.lon, loc.lat]);
  }
  return out;
}

export function drawMap(container, detail, collection, t) {
  container.replaceChildren();
  const features = (collection && collection.features) || [];
  const stationId = detail.station && detail.station.id;
  const own = features.find((f) => f.properties && f.properties.id === stationId);
  const loc = detail.location;
  const hasPoint = loc && typeof loc.lat === 'number' && typeof loc.lon === 'number';
  if (!own && !hasPoint) {
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = t('map.none');
    container.append(p);
    return;
  }
  let box = [Infinity, Infinity, -Infinity, -Infinity];
  if (own) for (const ring of rings(own.geometry)) box = bboxOf(ring, box);
  const path = track(detail);
  if (hasPoint) {
    const r = (loc.accuracy_m || 0) / M_PER_DEG;
    const k = Math.cos((loc.lat * Math.PI) / 180);
    box = bboxOf([[loc.lon - r / k, loc.lat - r], [loc.lon + r / k, loc.lat + r]], box);
    box = bboxOf(path, box);
  }
  // Pad so the neighbouring stations show, and keep a minimum size of about 2 km.
  const lat0 = (box[1] + box[3]) / 2;
  const kx = Math.cos((lat0 * Math.PI) / 180);
  let w = Math.max((box[2] - box[0]) * kx, 0.02);
  let h = Math.max(box[3] - box[1], 0.02);
  const cx = ((box[0] + box[2]) / 2) * kx;
  const cy = (box[1] + box[3]) / 2;
  w *= 1.5; h *= 1.5;
  const S = 1000 / Math.max(w, h);
  const X = (lon) => ((lon * kx - (cx - w / 2)) * S).toFixed(1);
  const Y = (lat) => (((cy + h / 2) - lat) * S).toFixed(1);
  const view = [cx / kx - w / 2 / kx, cy - h / 2, cx / kx + w / 2 / kx, cy + h / 2];

  const svg = el('svg', {
    viewBox: `0 0 ${(w * S).toFixed(0)} ${(h * S).toFixed(0)}`,
    class: 'map', role: 'img', 'aria-label': t('map'), 'data-station': stationId || '',
  });
  const labels = [];
  for (const f of features) {
    const fb = [Infinity, Infinity, -Infinity, -Infinity];
    const rs = rings(f.geometry);
    for (const ring of rs) bboxOf(ring, fb);
    if (fb[2] < view[0] || fb[0] > view[2] || fb[3] < view[1] || fb[1] > view[3]) continue;
    const d = rs.map((ring) => 'M' + ring.map(([lon, lat]) => `${X(lon)},${Y(lat)}`).join('L') + 'Z').join('');
    const isOwn = f === own;
    const area = el('path', { d, class: isOwn ? 'area own' : 'area', 'data-station-id': f.properties.id });
    const title = el('title');
    title.textContent = f.properties.name;
    area.append(title);
    svg.append(area);
    labels.push([f, (fb[0] + fb[2]) / 2, (fb[1] + fb[3]) / 2, isOwn]);
  }
  for (const [f, lon, lat, isOwn] of labels) {
    const label = el('text', { x: X(lon), y: Y(lat), class: isOwn ? 'label own' : 'label' });
    const hindi = document.documentElement.lang === 'hi' && f.properties.name_hi;
    label.textContent = hindi ? f.properties.name_hi : f.properties.name;
    svg.append(label);
  }
  if (path.length > 1) {
    svg.append(el('polyline', {
      points: path.map(([lon, lat]) => `${X(lon)},${Y(lat)}`).join(' '), class: 'track',
    }));
  }
  if (hasPoint) {
    const r = ((loc.accuracy_m || 0) / M_PER_DEG) * S;
    svg.append(el('circle', { cx: X(loc.lon), cy: Y(loc.lat), r: Math.max(r, 2).toFixed(1), class: 'accuracy' }));
    svg.append(el('circle', { cx: X(loc.lon), cy: Y(loc.lat), r: 14, class: 'pos' }));
  }
  // A 1 km scale bar, bottom left.
  const km = (1000 / M_PER_DEG) * S;
  const y = h * S - 20;
  svg.append(el('line', { x1: 20, y1: y, x2: 20 + km, y2: y, class: 'scale' }));
  const scale = el('text', { x: 20, y: y - 8, class: 'label scale-label' });
  scale.textContent = '1 km';
  svg.append(scale);
  container.append(svg);
  const legend = document.createElement('p');
  legend.className = 'muted small';
  legend.textContent = t('map.legend');
  container.append(legend);
}
