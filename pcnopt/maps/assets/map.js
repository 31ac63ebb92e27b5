
function pcnoptMap(map, D, bounds) {
  "use strict";
  var P = D.practices, configs = D.configs, built = {}, groups = [], active = 0;
  var markerOf = {}, counts = {}, areaOf = {}, labelOf = {}, placeOf = [];
  function esc(v) {
    return String(v === null || v === undefined ? "" : v).replace(/[&<>"'`=\/]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
              "`": "&#96;", "=": "&#61;", "/": "&#47;"}[c];
    });
  }
  function num(v) {
    return (v === null || v === undefined) ? "–"
      : Number(v).toLocaleString("en-GB", {maximumFractionDigits: 0});
  }
  function km(m) {
    return (m === null || m === undefined) ? "–"
      : (m / 1000).toLocaleString("en-GB", {maximumFractionDigits: 1}) + " km";
  }
  function pct(v) { return (v === null || v === undefined) ? "–" : Math.round(100 * v) + "%"; }
  function row(label, value) {
    return "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>";
  }
  function pcnName(p) { return p.label ? p.label + " (" + p.id + ")" : p.id; }
  // each town and locality of the practices' addresses once ("Stockton on Tees" is
  // "Stockton-on-Tees"; the locality Bulwell and the town Nottingham are two entries)
  var towns = [], townOf = {};
  [["town", "Town"], ["locality", "Locality"]].forEach(function (column) {
    (P[column[0]] || []).forEach(function (name, j) {
      var key = column[1] + ":" + String(name).toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
      if (key === column[1] + ":") return;
      if (!(key in townOf)) {
        townOf[key] = towns.length;
        towns.push({name: name, kind: column[1], at: []});
      }
      towns[townOf[key]].at.push(j);
    });
  });
  // what a configuration's units are called: "PCN", or a level above PCNs ("neighbourhood")
  function unitName(c) { return c.unit || "PCN"; }
  function title(text) { return text.charAt(0).toUpperCase() + text.slice(1); }
  var levels = configs.some(function (c) { return unitName(c) !== "PCN"; });

  ["pcnoptAreas", "pcnoptPlaces", "pcnoptLabels", "pcnoptPractices"].forEach(function (name, k) {
    map.createPane(name).style.zIndex = 400 + 10 * k;
  });
  map.getPane("pcnoptLabels").style.pointerEvents = "none";
  // a PCN's name is shown once its area is wide enough on screen to hold it
  function relabel() {
    var labels = labelOf[active] || {}, areas = areaOf[active] || {}, placed = [];
    // widest areas first; a name that would overlap one already shown waits for a closer zoom
    var order = Object.keys(labels).filter(function (i) { return areas[i]; }).map(function (i) {
      var b = areas[i].getBounds();
      return {i: i, w: map.latLngToContainerPoint(b.getNorthEast()).x
                     - map.latLngToContainerPoint(b.getSouthWest()).x};
    }).sort(function (a, b) { return b.w - a.w; });
    order.forEach(function (o) {
      var el = labels[o.i].getElement();
      if (!el) return;
      el.style.display = "";
      var r = el.firstChild.getBoundingClientRect();
      var fits = o.w >= Math.max(60, 0.6 * r.width) && placed.every(function (q) {
        return r.right < q.left || r.left > q.right || r.bottom < q.top || r.top > q.bottom;
      });
      el.style.display = fits ? "" : "none";
      if (fits) placed.push(r);
    });
  }
  map.on("zoomend", relabel);
  // practices shrink when zoomed out below level 10, so a region's PCNs stay visible
  function scale() { return Math.min(1, Math.max(0.2, Math.pow(2, (map.getZoom() - 10) / 2))); }
  function rescale() {
    var f = scale(), markers = markerOf[active] || {};
    Object.keys(markers).forEach(function (j) {
      markers[j].setRadius(Math.max(1, P.radius[j] * f));
    });
  }
  map.on("zoomend", rescale);
  var practiceRenderer = D.practiceCanvas
    ? L.canvas({pane: "pcnoptPractices", tolerance: 2}) : undefined;

  function members(c, i) {
    var out = [];
    for (var j = 0; j < c.pcnOf.length; j++) if (c.pcnOf[j] === i) out.push(j);
    out.sort(function (a, b) { return (P.list[b] || 0) - (P.list[a] || 0); });
    return out;
  }
  function pcnTooltip(c, i) {
    var p = c.pcns[i];
    return "<b>" + esc(pcnName(p)) + "</b><br>" + esc(num(p.pop)) + " patients (band basis)"
      + "<br>" + esc(p.n) + " practices · " + esc(p.status)
      + (p.exc ? "<br><i>" + esc(p.exc) + "</i>" : "");
  }
  function pcnPopup(c, i) {
    var p = c.pcns[i];
    var h = "<div class='pcnopt-popup'><h4>" + esc(pcnName(p)) + "</h4><table>";
    h += row("Configuration", c.name) + row("Place", p.place);
    h += row("Registered patients", num(p.list));
    if (p.wpop !== null) h += row("Weighted population", num(p.wpop));
    h += row("Size band", p.status) + row("Practices", p.n);
    if (p.hub >= 0) h += row("Hub practice", P.name[p.hub] + " (" + P.code[p.hub] + ")");
    h += row("Mean distance to hub", km(p.md));
    if (p.fund) {
      p.fund.forEach(function (f) { h += row(f[0], f[1] === null ? "not given" : f[1]); });
    }
    else if (c.hasFunding) h += row("Funding", "not in the funding table");
    else h += "<tr><th>Funding</th><td class='muted'>not calculated for this map</td></tr>";
    h += "</table>";
    if (p.exc) h += "<p class='note'>Exception: " + esc(p.exc) + "</p>";
    if (p.inner) {
      // a level above PCNs: its inner units, each with its patients
      var below = c.under !== null && c.under !== undefined ? unitName(configs[c.under]) : "unit";
      h += "<table class='members inner-units'><tr><th>" + esc(title(below)) + "s ("
        + esc(p.inner.length) + ")</th><th>Patients</th></tr>";
      p.inner.forEach(function (u) {
        h += "<tr><td>" + esc(u[0]) + "</td><td>" + esc(num(u[1])) + "</td></tr>";
      });
      h += "</table>";
    }
    h += "<table class='members'><tr><th>Practice</th><th>Code</th><th>List size</th></tr>";
    members(c, i).forEach(function (j) {
      h += "<tr><td>" + esc(P.name[j]) + "</td><td>" + esc(P.code[j]) + "</td><td>"
        + esc(num(P.list[j])) + "</td></tr>";
    });
    return h + "</table></div>";
  }
  function practicePopup(c, j) {
    var i = c.pcnOf[j];
    var h = "<div class='pcnopt-popup'><h4>" + esc(P.name[j]) + "</h4><table>";
    h += row("Code", P.code[j]) + row("List size", num(P.list[j]));
    if (i >= 0) {
      var p = c.pcns[i];
      h += row(title(unitName(c)), pcnName(p)) + row("Place", p.place);
      h += row("Distance to " + unitName(c) + " hub",
               p.hub === j ? "this is the hub" : km(c.dist[j]));
    } else h += row(title(unitName(c)), "in no " + unitName(c));
    h += row("Configuration", c.name);
    if (P.postcode) h += row("Postcode", P.postcode[j]);
    if (P.town && P.town[j]) {
      h += row("Town", (P.locality && P.locality[j] ? P.locality[j] + ", " : "") + P.town[j]);
    }
    // the practice's PCN in every other configuration (e.g. proposed beside current)
    configs.forEach(function (o) {
      if (o === c) return;
      var k = o.pcnOf[j];
      h += row(title(unitName(o)) + " in " + o.name,
               k >= 0 ? pcnName(o.pcns[k]) : "in no " + unitName(o));
    });
    return h + "</table></div>";
  }
  function build(k, group) {
    var c = configs[k], over = c.under !== null && c.under !== undefined;
    if (over) {
      // a level above another: the level below in its colours, this level's boundaries on top
      var u = configs[c.under];
      group.addLayer(L.geoJSON(u.areas, {
        pane: "pcnoptAreas", className: "pcn-area-under", interactive: false,
        style: function (f) {
          return {fillColor: u.pcns[f.properties.i].fill, fillOpacity: 0.7, color: "#fff",
                  weight: 1};
        }
      }));
    }
    var areas = L.geoJSON(c.areas, {
      pane: "pcnoptAreas", className: "pcn-area",
      style: function (f) {
        var p = c.pcns[f.properties.i];
        if (over) {
          return {fill: true, fillOpacity: 0, color: "#111", weight: p.exc ? 3 : 3.5,
                  opacity: 0.95, dashArray: p.exc ? "6 4" : null};
        }
        return {fillColor: p.fill, fillOpacity: 0.7, color: p.exc ? "#222" : "#fff",
                weight: p.exc ? 2 : 1.2, dashArray: p.exc ? "6 4" : null};
      },
      onEachFeature: function (f, layer) {
        var i = f.properties.i;
        areaOf[k] = areaOf[k] || {};
        areaOf[k][i] = layer;
        layer.bindTooltip(function () { return pcnTooltip(c, i); }, {sticky: true});
        layer.bindPopup(function () { return pcnPopup(c, i); }, {maxWidth: 380, maxHeight: 360});
        layer.on("mouseover", function () { layer.setStyle({weight: 3, color: "#000"}); });
        layer.on("mouseout", function () { areas.resetStyle(layer); });
      }
    });
    group.addLayer(areas);
    var labels = {};
    c.pcns.forEach(function (p, i) {
      if (!p.at) return;
      var label = L.marker(p.at, {
        pane: "pcnoptLabels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "pcn-label", html: "<span>" + esc(p.label || p.id)
                         + "</span>", iconSize: null})
      });
      labels[i] = label;
      group.addLayer(label);
    });
    labelOf[k] = labels;
    var markers = {};
    for (var j = 0; j < P.code.length; j++) {
      var i = c.pcnOf[j], hub = i >= 0 && c.pcns[i].hub === j;
      var m = L.circleMarker([P.lat[j], P.lon[j]], {
        pane: "pcnoptPractices", renderer: practiceRenderer,
        radius: Math.max(1, P.radius[j] * scale()),
        color: "#fff", weight: 1,
        fillColor: i < 0 ? "#999" : (hub ? "#000" : "#555"), fillOpacity: 0.85,
        className: "practice-marker"
      });
      (function (jj, mm) {
        mm.bindTooltip(function () { return esc(P.name[jj]) + " (" + esc(P.code[jj]) + ")"; });
        mm.bindPopup(function () { return practicePopup(c, jj); }, {maxWidth: 340});
      })(j, m);
      markers[j] = m;
      group.addLayer(m);
    }
    markerOf[k] = markers;
    counts[k] = {areas: areas.getLayers().length, practices: Object.keys(markers).length};
  }
  function configLayer(k) {
    var group = L.featureGroup();
    group._pcnoptConfig = k;
    group.on("add", function () {
      if (!built[k]) { build(k, group); built[k] = true; }
      active = k;
      rescale();
      relabel();
      // one configuration at a time; after the layer control has finished handling its click
      setTimeout(function () {
        groups.forEach(function (g, other) {
          if (other !== active && map.hasLayer(g)) map.removeLayer(g);
        });
      }, 0);
      updateSummary();
    });
    groups[k] = group;
    return group;
  }
  function placesLayer() {
    return L.geoJSON(D.places, {
      pane: "pcnoptPlaces", className: "place-outline",
      style: function () { return {fill: false, color: "#222", weight: 2.2, opacity: 0.9}; },
      onEachFeature: function (f, layer) {
        placeOf.push({name: f.properties.name, layer: layer});
        layer.bindTooltip(function () { return "Place: " + esc(f.properties.name); },
                          {sticky: true});
      }
    });
  }

  var summaryBox;
  function updateSummary() {
    if (!summaryBox) return;
    var open = summaryBox.firstChild ? summaryBox.firstChild.open : true;
    var h = "<details" + (open ? " open" : "") + "><summary><b>" + esc(D.title)
      + "</b></summary><table><tr><th></th>";
    function cls(k) { return "<th class='" + (k === active ? "active" : "") + "'>"; }
    configs.forEach(function (c, k) { h += cls(k) + esc(c.name) + "</th>"; });
    h += "</tr>";
    var units = levels ? "Units" : "PCNs";
    [[units, function (s) { return num(s.pcns); }],
     ["Practices", function (s) { return num(s.practices); }],
     [units + " in size band", function (s) { return pct(s.share_pcns_in_band); }],
     ["Patients in band", function (s) { return pct(s.share_patients_in_band); }],
     ["Named exceptions", function (s) { return num(s.named_exceptions); }],
     ["Mean distance to hub", function (s) { return km(s.mean_distance_to_hub_m); }]
    ].forEach(function (r) {
      h += "<tr><th>" + esc(r[0]) + "</th>";
      configs.forEach(function (c, k) {
        h += "<td class='" + (k === active ? "active" : "") + "'>" + esc(r[1](c.summary)) + "</td>";
      });
      h += "</tr>";
    });
    summaryBox.innerHTML = h + "</table></details>";
  }
  var Summary = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () {
      summaryBox = L.DomUtil.create("div", "pcnopt-panel pcnopt-summary");
      L.DomEvent.disableClickPropagation(summaryBox);
      updateSummary();
      return summaryBox;
    }
  });
  var Legend = L.Control.extend({
    options: {position: "bottomright"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pcnopt-panel pcnopt-legend");
      var h = "<h3>Legend</h3>";
      if (D.colourBy === "status") {
        Object.keys(D.statusColours).forEach(function (k) {
          if (k === "no PCN") return;
          h += "<div><span class='pcnopt-swatch' style='background:" + esc(D.statusColours[k])
            + "'></span>" + esc(k) + "</div>";
        });
      } else {
        h += "<div>Each colour is one PCN;<br>neighbouring PCNs never share a colour.</div>";
      }
      h += "<div><span class='pcnopt-swatch' style='background:#fff;border:2px dashed #222'>"
        + "</span>named exception</div>";
      h += "<div><span class='pcnopt-swatch' style='background:none;border:2px solid #222'>"
        + "</span>place boundary</div>";
      if (levels) {
        h += "<div><span class='pcnopt-swatch' style='background:none;border:3px solid #111'>"
          + "</span>boundary of a unit of the level above<br>(drawn over the level below)</div>";
      }
      h += "<div>Practices (shrink when zoomed out):</div>";
      [[5000, "5,000"], [20000, "20,000"]].forEach(function (s) {
        var r = Math.max(3, Math.min(16, Math.sqrt(s[0]) / 25));
        h += "<div><span class='pcnopt-dot' style='width:" + 2 * r + "px;height:" + 2 * r
          + "px'></span>practice, " + s[1] + " patients</div>";
      });
      h += "<div><span class='pcnopt-dot' style='width:10px;height:10px;background:#000'>"
        + "</span>PCN hub practice</div>";
      div.innerHTML = h;
      return div;
    }
  });
  var Search = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pcnopt-panel pcnopt-search");
      var input = L.DomUtil.create("input", "", div);
      input.type = "search";
      input.placeholder = "Find a practice, postcode, PCN, town or place";
      input.setAttribute("aria-label",
                         "Find a practice by name, code or postcode, a PCN, a town or a place");
      var list = L.DomUtil.create("ul", "", div);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var lower = P.name.map(function (n, j) {
        return (n + " " + P.code[j] + " " + (P.postcode ? P.postcode[j] : "")).toLowerCase();
      });
      function squash(t) { return String(t).toLowerCase().replace(/\s+/g, ""); }

      function found(q) {
        // PCNs of the configuration shown and places first (few), then practices
        var out = [], qq = squash(q);
        configs[active].pcns.forEach(function (p, i) {
          if ((p.label || "").toLowerCase().indexOf(q) >= 0
              || String(p.id).toLowerCase().indexOf(q) >= 0) {
            out.push({kind: "pcn", i: i,
                      text: title(unitName(configs[active])) + ": " + pcnName(p)});
          }
        });
        placeOf.forEach(function (pl, i) {
          if (String(pl.name).toLowerCase().indexOf(q) >= 0) {
            out.push({kind: "place", i: i, text: "Place: " + pl.name});
          }
        });
        towns.forEach(function (t, i) {
          if (t.name.toLowerCase().indexOf(q) === 0) {
            out.push({kind: "town", i: i, text: t.kind + ": " + t.name + " (" + t.at.length
                      + (t.at.length === 1 ? " practice)" : " practices)")});
          }
        });
        for (var j = 0; j < lower.length; j++) {
          if (lower[j].indexOf(q) >= 0
              || (P.postcode && qq.length >= 3 && squash(P.postcode[j]).indexOf(qq) === 0)) {
            out.push({kind: "practice", i: j, text: P.name[j] + " (" + P.code[j] + ")"});
          }
        }
        return out.slice(0, 12);
      }
      function show() {
        var q = input.value.trim().toLowerCase();
        list.textContent = "";
        if (q.length < 2) return;
        var hits = found(q);
        hits.forEach(function (hit) {
          var li = L.DomUtil.create("li", "", list);
          li.tabIndex = 0;
          li.textContent = hit.text;
          li.setAttribute("data-kind", hit.kind);
          li.setAttribute("data-index", String(hit.i));
          li.addEventListener("click", function () { pick(this); });
          li.addEventListener("keydown", function (e) { if (e.key === "Enter") pick(this); });
        });
        if (!hits.length) L.DomUtil.create("li", "", list).textContent = "nothing found";
      }
      input.addEventListener("input", show);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && list.firstChild && list.firstChild.hasAttribute("data-index")) {
          pick(list.firstChild);
        }
      });
      return div;
    }
  });
  function pick(li) {
    var i = Number(li.getAttribute("data-index")), kind = li.getAttribute("data-kind");
    if (kind === "pcn") goPcn(i);
    else if (kind === "place") map.fitBounds(placeOf[i].layer.getBounds());
    else if (kind === "town") goTown(i);
    else go(i);
  }
  function goTown(i) {
    // the town's practices in view (a town of one practice: as close as for a practice)
    var at = towns[i].at.map(function (j) { return [P.lat[j], P.lon[j]]; });
    if (!map.hasLayer(groups[active])) map.addLayer(groups[active]);
    map.fitBounds(L.latLngBounds(at).pad(0.3), {maxZoom: 14});
  }
  function go(j) {
    if (!map.hasLayer(groups[active])) map.addLayer(groups[active]);
    var m = markerOf[active][j];
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 13));
    m.openPopup();
  }
  function goPcn(i) {
    if (!map.hasLayer(groups[active])) map.addLayer(groups[active]);
    var layer = areaOf[active][i];
    map.fitBounds(layer.getBounds());
    layer.openPopup(layer.getBounds().getCenter());
  }
  // without an animation: the map is settled (and "ready") at its first view
  map.fitBounds(bounds, {animate: false});
  new Search().addTo(map);
  new Summary().addTo(map);
  new Legend().addTo(map);
  return {
    configLayer: configLayer,
    placesLayer: placesLayer,
    go: go,
    goPcn: goPcn,
    relabel: relabel,
    drawn: function () { return counts[active]; },
    ready: function () {
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          window.pcnoptDrawn = counts[active];
          window.pcnoptReady = performance.now();
          document.body.setAttribute("data-pcnopt-ready", "1");
        });
      });
    }
  };
}
