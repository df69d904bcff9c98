// The trade page's candle chart, drawn with TradingView's Lightweight Charts (static/vendor/lightweight-charts/).
// A script file, not an inline script: the page's Content-Security-Policy allows scripts from this site only.
// The data comes from the trade's chart.json: candles, a marker for each execution (the entry, each exit) and
// for each stop a trail or break-even moved to, and the stop and target lines.
// An open trade's chart asks, on each batch of its prices the page's stream brings (sse:prices.applied) and on each
// of the page's polls, only for the candles it does not have (?after=, the answer's own cursor), and adds them with
// series.update; it is fetched whole after every action (ledgerChanged), when the trade closes (tradeClosed), and
// when the candles' length has changed (a span grown past 12 hours takes 5-minute candles, ...).
(() => {
  const LC = window.LightweightCharts;
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();
  // No title on a line: a title is drawn inside the chart, where it covered the candles and the exit marker;
  // the legend under the chart names each colour with its price.
  const LINES = {
    stop: { color: colour("--loss"), style: LC.LineStyle.Dashed },
    target: { color: colour("--gain"), style: LC.LineStyle.Dashed },
    entry: { color: colour("--muted"), style: LC.LineStyle.Dotted },
    exit: { color: colour("--accent"), style: LC.LineStyle.Dotted },
  };
  // Whose price label stays on the scale when two would overlap, first first: where the trade went in and out
  // (or the last price, while open), then its levels. A line without its label is still drawn.
  const PRIORITY = ["last", "exit", "entry", "stop", "target"];
  const LIVE = ["poll", "sse:prices.applied"];  // what an open trade's chart is fetched again on
  const LABEL_HEIGHT = 18;  // px: a price label's 12 px text and its padding
  const MARGIN = 0.06;  // of the height, above and below what is drawn
  const RIGHT_SPACE = 48;  // px left empty after the last candle: an exit marker's text clear of the price labels

  function marker(item, data) {
    if (item.kind === "stop") {  // a stop the trail (or break-even) moved to: a dot at its price
      return { time: item.time, position: "atPriceMiddle", price: Number(item.price), shape: "circle", color: colour("--loss"), size: 0.6 };
    }
    const buying = (item.kind === "entry") === (data.direction === "LONG");
    return {
      time: item.time,
      position: buying ? "belowBar" : "aboveBar",
      shape: buying ? "arrowUp" : "arrowDown",
      color: item.kind === "entry" ? colour("--ink") : colour("--accent"),
      text: `${item.kind} ${Number(item.price).toFixed(data.precision)}`,
    };
  }

  function draw(element) {
    const chart = LC.createChart(element, {
      autoSize: true,
      // The logo widget injects an inline <style>, which the CSP refuses; the page links TradingView itself.
      layout: { attributionLogo: false, background: { color: colour("--card") }, textColor: colour("--ink") },
      grid: { vertLines: { color: colour("--line") }, horzLines: { color: colour("--line") } },
      timeScale: { timeVisible: true, secondsVisible: false, rightOffsetPixels: RIGHT_SPACE },
      // The scale fits what is drawn (candles, stop and target) with a thin margin, not the library's 20% and 10%.
      rightPriceScale: { scaleMargins: { top: MARGIN, bottom: MARGIN } },
    });
    const series = chart.addSeries(LC.CandlestickSeries, {
      upColor: colour("--gain"), downColor: colour("--loss"), borderVisible: false,
      wickUpColor: colour("--gain"), wickDownColor: colour("--loss"),
    });
    // autoScale off: the markers' arrows would otherwise widen the scale beyond what is drawn.
    const markers = LC.createSeriesMarkers(series, [], { autoScale: false });
    let lines = [];
    let data = null;
    let levels = [];  // the lines' prices: the price scale always reaches the stop and the target
    let fitted = false;
    series.applyOptions({
      autoscaleInfoProvider: (original) => {
        const scale = original();
        if (scale && levels.length) {
          scale.priceRange.minValue = Math.min(scale.priceRange.minValue, ...levels);
          scale.priceRange.maxValue = Math.max(scale.priceRange.maxValue, ...levels);
        }
        return scale;
      },
    });

    const bar = (c) => ({ time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) });
    let after = null;  // the answer's cursor: what to send for what is new
    let minutes = null;

    async function load(whole = true) {
      const url = new URL(element.dataset.url, location.href);
      const adding = !whole && after !== null;
      if (adding) url.searchParams.set("after", after);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.redirected) {  // the login has gone: the page itself goes to the login, and comes back
        location.reload();
        return;
      }
      if (!response.ok) return;
      data = await response.json();
      if (adding && data.minutes !== minutes) return load();  // longer candles now: the whole chart again
      ({ after, minutes } = data);
      const step = 10 ** -data.precision;
      // The last candle's price line only while the trade is open: once closed, its exit line says it.
      series.applyOptions({ priceFormat: { type: "price", precision: data.precision, minMove: step }, lastValueVisible: data.open, priceLineVisible: data.open });
      if (adding) {
        data.candles.forEach((c) => series.update(bar(c)));  // the growing last candle replaced, newer ones added
      } else {
        series.setData(data.candles.map(bar));
      }
      markers.setMarkers(data.markers.map((item) => marker(item, data)));
      levels = data.lines.map((line) => Number(line.price));
      lines.forEach((line) => series.removePriceLine(line));
      lines = data.lines.map((line) => series.createPriceLine({
        price: Number(line.price), color: LINES[line.kind].color, lineStyle: LINES[line.kind].style, lineWidth: 1,
        axisLabelVisible: true,
      }));
      if (!fitted) {
        chart.timeScale().fitContent();
        fitted = true;
      }
      // What was drawn, for the browser tests and for anyone reading the page's markup.
      element.dataset.candles = series.data().length;
      element.dataset.fetched = data.candles.length;  // in the last answer
      element.dataset.markers = data.markers.map((item) => item.kind).join(" ");
      element.dataset.lines = data.lines.map((line) => `${line.kind}:${Number(line.price)}`).join(" ");
      requestAnimationFrame(() => requestAnimationFrame(placeLabels));  // once the chart has laid out the data
      if (!data.open) LIVE.forEach((name) => document.body.removeEventListener(name, poll));
    }
    const poll = () => load(false);

    // Show a line's price label only where it keeps clear of the labels that come before it in PRIORITY.
    function placeLabels() {
      if (!data) return;
      const labels = data.lines.map((line, i) => ({ kind: line.kind, y: series.priceToCoordinate(Number(line.price)), line: lines[i] }));
      const last = series.data().at(-1);
      if (data.open && last) labels.push({ kind: "last", y: series.priceToCoordinate(Number(last.close)) });
      labels.sort((a, b) => PRIORITY.indexOf(a.kind) - PRIORITY.indexOf(b.kind));
      const shown = [];
      for (const label of labels) {
        const clear = label.y !== null && shown.every((other) => Math.abs(other.y - label.y) >= LABEL_HEIGHT);
        if (clear) shown.push(label);
        if (label.line) label.line.applyOptions({ axisLabelVisible: clear });
      }
      const range = series.priceScale().getVisibleRange();
      const exit = data.markers.find((item) => item.kind === "exit");
      element.dataset.range = range ? `${range.from} ${range.to}` : "";
      element.dataset.labels = shown.map((label) => label.kind).join(" ");
      element.dataset.labelYs = shown.map((label) => label.y.toFixed(1)).join(" ");
      element.dataset.paneHeight = chart.paneSize().height;
      element.dataset.paneWidth = chart.paneSize().width;
      element.dataset.exitX = exit ? chart.timeScale().timeToCoordinate(exit.time) : "";
    }

    load();
    chart.timeScale().subscribeSizeChange(placeLabels);  // a narrower or shorter chart moves the labels closer
    if ("live" in element.dataset) LIVE.forEach((name) => document.body.addEventListener(name, poll));
    ["ledgerChanged", "tradeClosed"].forEach((name) => document.body.addEventListener(name, () => load()));
  }

  document.querySelectorAll("[data-trade-chart]").forEach(draw);
})();
