/* Maps of the inventory web app. No dependency but Leaflet (and Leaflet.markercluster).
 * Text from the inventory is always put in with textContent, never as HTML. */
(function () {
  "use strict";

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function sitePopup(props, opts) {
    var box = el("div", null, "popup");
    var link = el("a", props.name || props.id);
    link.href = opts.siteUrl.replace("__ID__", encodeURIComponent(props.id));
    link.target = "_top";
    var title = el("b");
    title.appendChild(link);
    box.appendChild(title);
    var table = el("table");
    [[opts.labels.site, props.id], [opts.labels.customer, props.customer],
     [opts.labels.tier, opts.tierLabels[props.tier] || props.tier]].forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") { return; }
      var tr = el("tr");
      tr.appendChild(el("th", row[0]));
      tr.appendChild(el("td", row[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  /* Sites drawn from the server for the current view: single sites (clustered in the
   * browser) when few are in view, the server's grid clusters when many. */
  function sitesLayer(map, opts) {
    // clustering needs a maximum zoom, which otherwise only a tile layer gives
    if (map.options.maxZoom === undefined) { map.options.maxZoom = 19; }
    var sites = L.markerClusterGroup ? L.markerClusterGroup({chunkedLoading: true})
                                     : L.layerGroup();
    var clusters = L.layerGroup();
    sites.addTo(map);
    clusters.addTo(map);
    var pending = null;
    var timer = null;
    var generation = 0;

    function draw(data) {
      sites.clearLayers();
      clusters.clearLayers();
      var singles = [];
      (data.features || []).forEach(function (f) {
        var c = f.geometry && f.geometry.coordinates;
        if (!c) { return; }
        var p = f.properties || {};
        if (p.cluster) {
          var size = p.count >= 1000 ? "large" : (p.count >= 100 ? "medium" : "small");
          var icon = L.divIcon({html: "<div><span></span></div>",
                                className: "marker-cluster marker-cluster-" + size,
                                iconSize: L.point(40, 40)});
          var m = L.marker([c[1], c[0]], {icon: icon});
          m.on("add", function () {
            var span = m.getElement() && m.getElement().querySelector("span");
            if (span) { span.textContent = String(p.count); }
          });
          m.on("click", function () { map.setView([c[1], c[0]], map.getZoom() + 2); });
          clusters.addLayer(m);
        } else {
          var colour = opts.tierColours[p.tier] || "#546e7a";
          var cm = L.circleMarker([c[1], c[0]], {radius: 6, color: colour, fillColor: colour,
                                                  fillOpacity: 0.85, weight: 2,
                                                  className: "inv-site"});
          cm.bindPopup(function () { return sitePopup(p, opts); });
          singles.push(cm);
        }
      });
      if (sites.addLayers) { sites.addLayers(singles); }
      else { singles.forEach(function (m) { sites.addLayer(m); }); }
      var note = document.getElementById("inv-map-count");
      if (note) { note.textContent = String(data.total_in_view || 0) + " " + opts.labels.sites; }
    }

    function load() {
      var b = map.getBounds().pad(0.02);
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
        return v.toFixed(5);
      }).join(",");
      var url = opts.url + (opts.url.indexOf("?") < 0 ? "?" : "&") + "bbox=" + bbox +
                "&zoom=" + map.getZoom();
      var mine = ++generation;
      if (pending && pending.abort) { pending.abort(); }
      pending = window.AbortController ? new AbortController() : null;
      fetch(url, {credentials: "same-origin", signal: pending ? pending.signal : undefined})
        .then(function (r) { return r.ok ? r.json() : {features: []}; })
        .then(function (data) { if (mine === generation) { draw(data); } })
        .catch(function (e) { if (e && e.name !== "AbortError" && window.console) {
          console.warn("sites layer:", e.message); } });
    }

    map.on("moveend", function () { clearTimeout(timer); timer = setTimeout(load, 150); });
    var counter = L.control({position: "bottomleft"});
    counter.onAdd = function () { var d = el("div", "", "inv-map-count"); d.id = "inv-map-count";
                                  return d; };
    counter.addTo(map);
    load();
    return sites;
  }

  window.inventoryMap = {sitesLayer: sitesLayer};
}());
