
function pcnoptMap(map, D, bounds) {
  "use strict";
  var P = D.practices, configs = D.configs, built = {}, groups = [], active = 0;
  var markerOf = {}, counts = {};
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

  ["pcnoptAreas", "pcnoptPlaces", "pcnoptPractices"].forEach(function (name, k) {
    map.createPane(name).style.zIndex = 400 + 10 * k;
  });
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
      h += row("PCN", pcnName(p)) + row("Place", p.place);
      h += row("Distance to PCN hub", p.hub === j ? "this is the hub" : km(c.dist[j]));
    } else h += row("PCN", "in no PCN");
    return h + row("Configuration", c.name) + "</table></div>";
  }
  function build(k, group) {
    var c = configs[k];
    var areas = L.geoJSON(c.areas, {
      pane: "pcnoptAreas", className: "pcn-area",
      style: function (f) {
        var p = c.pcns[f.properties.i];
        return {fillColor: p.fill, fillOpacity: 0.7, color: p.exc ? "#222" : "#fff",
                weight: p.exc ? 2 : 1.2, dashArray: p.exc ? "6 4" : null};
      },
      onEachFeature: function (f, layer) {
        var i = f.properties.i;
        layer.bindTooltip(function () { return pcnTooltip(c, i); }, {sticky: true});
        layer.bindPopup(function () { return pcnPopup(c, i); }, {maxWidth: 380, maxHeight: 360});
        layer.on("mouseover", function () { layer.setStyle({weight: 3, color: "#000"}); });
        layer.on("mouseout", function () { areas.resetStyle(layer); });
      }
    });
    group.addLayer(areas);
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
    [["PCNs", function (s) { return num(s.pcns); }],
     ["Practices", function (s) { return num(s.practices); }],
     ["PCNs in size band", function (s) { return pct(s.share_pcns_in_band); }],
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
      input.placeholder = "Find a practice (name or code)";
      input.setAttribute("aria-label", "Find a practice by name or code");
      var list = L.DomUtil.create("ul", "", div);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var lower = P.name.map(function (n, j) { return (n + " " + P.code[j]).toLowerCase(); });
      function show() {
        var q = input.value.trim().toLowerCase();
        list.textContent = "";
        if (q.length < 2) return;
        var n = 0;
        for (var j = 0; j < lower.length && n < 12; j++) {
          if (lower[j].indexOf(q) < 0) continue;
          var li = L.DomUtil.create("li", "", list);
          li.tabIndex = 0;
          li.textContent = P.name[j] + " (" + P.code[j] + ")";
          li.setAttribute("data-index", String(j));
          li.addEventListener("click", function () {
            go(Number(this.getAttribute("data-index")));
          });
          li.addEventListener("keydown", function (e) {
            if (e.key === "Enter") go(Number(this.getAttribute("data-index")));
          });
          n++;
        }
        if (!n) L.DomUtil.create("li", "", list).textContent = "no practice found";
      }
      input.addEventListener("input", show);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Enter" && list.firstChild && list.firstChild.hasAttribute("data-index")) {
          go(Number(list.firstChild.getAttribute("data-index")));
        }
      });
      return div;
    }
  });
  function go(j) {
    if (!map.hasLayer(groups[active])) map.addLayer(groups[active]);
    var m = markerOf[active][j];
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 13));
    m.openPopup();
  }
  map.fitBounds(bounds);
  new Search().addTo(map);
  new Summary().addTo(map);
  new Legend().addTo(map);
  return {
    configLayer: configLayer,
    placesLayer: placesLayer,
    go: go,
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
