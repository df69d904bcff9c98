// The trade page's candle chart, drawn with TradingView's Lightweight Charts (static/vendor/lightweight-charts/).
// A script file, not an inline script: the page's Content-Security-Policy allows scripts from this site only.
// The data comes from the trade's chart.json: candles, the entry and exit markers, the stop and target lines.
// An open trade's chart is fetched again on each of the page's polls and after every action (ledgerChanged).
(() => {
  const LC = window.LightweightCharts;
  const css = getComputedStyle(document.documentElement);
  const colour = (name) => css.getPropertyValue(name).trim();
  const LINES = {
    stop: { color: colour("--loss"), style: LC.LineStyle.Dashed, title: "stop" },
    target: { color: colour("--gain"), style: LC.LineStyle.Dashed, title: "target" },
    entry: { color: colour("--muted"), style: LC.LineStyle.Dotted, title: "entry" },
    exit: { color: colour("--accent"), style: LC.LineStyle.Dotted, title: "exit" },
  };

  function marker(item, data) {
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
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    const series = chart.addSeries(LC.CandlestickSeries, {
      upColor: colour("--gain"), downColor: colour("--loss"), borderVisible: false,
      wickUpColor: colour("--gain"), wickDownColor: colour("--loss"),
    });
    const markers = LC.createSeriesMarkers(series, []);
    let lines = [];
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

    async function load() {
      const response = await fetch(element.dataset.url, { headers: { Accept: "application/json" } });
      if (response.redirected) {  // the login has gone: the page itself goes to the login, and comes back
        location.reload();
        return;
      }
      if (!response.ok) return;
      const data = await response.json();
      const step = 10 ** -data.precision;
      // The last candle's price line only while the trade is open: once closed, its exit line says it.
      series.applyOptions({ priceFormat: { type: "price", precision: data.precision, minMove: step }, lastValueVisible: data.open, priceLineVisible: data.open });
      series.setData(data.candles.map((c) => ({ time: c.time, open: Number(c.open), high: Number(c.high), low: Number(c.low), close: Number(c.close) })));
      markers.setMarkers(data.markers.map((item) => marker(item, data)));
      levels = data.lines.map((line) => Number(line.price));
      lines.forEach((line) => series.removePriceLine(line));
      lines = data.lines.map((line) => series.createPriceLine({
        price: Number(line.price), color: LINES[line.kind].color, lineStyle: LINES[line.kind].style, lineWidth: 1,
        axisLabelVisible: true, title: LINES[line.kind].title,
      }));
      if (!fitted) {
        chart.timeScale().fitContent();
        fitted = true;
      }
      // What was drawn, for the browser tests and for anyone reading the page's markup.
      element.dataset.candles = data.candles.length;
      element.dataset.markers = data.markers.map((item) => item.kind).join(" ");
      element.dataset.lines = data.lines.map((line) => `${line.kind}:${Number(line.price)}`).join(" ");
      if (!data.open) document.body.removeEventListener("poll", load);
    }

    load();
    if ("live" in element.dataset) document.body.addEventListener("poll", load);
    document.body.addEventListener("ledgerChanged", load);
  }

  document.querySelectorAll("[data-trade-chart]").forEach(draw);
})();
