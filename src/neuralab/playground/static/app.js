// neuralab playground: the page. It holds no model: the server trains and
// sends frames over one websocket; this file draws them and turns clicks into
// messages (the contract is docs/playground.md). Plain browser JavaScript, no
// build step and nothing fetched from elsewhere, so it works offline.
"use strict";

(function () {
  // ---- constants --------------------------------------------------------

  // TensorFlow Playground's ladders and its diverging scale (orange, grey,
  // blue for -1, 0, 1), so a student sees the colours they already know.
  const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1,
    0.3, 1, 3, 10];
  const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
  const ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "leaky_relu"];
  const OPTIMIZERS = ["sgd", "momentum", "adam"];
  const SCHEDULES = ["constant", "step", "cosine"];
  const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const TARGETS = [null, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
  const ORANGE = [245, 147, 34];
  const GREY = [232, 234, 235];
  const BLUE = [8, 119, 189];
  // Classes beyond two: orange and blue first, as in the binary case.
  const PALETTE = [ORANGE, BLUE, [44, 160, 44], [214, 39, 40],
    [148, 103, 189]];
  const DATASETS = [
    {name: "circle", label: "Circle", problem: "classification"},
    {name: "xor", label: "Exclusive or", problem: "classification"},
    {name: "gauss", label: "Gaussian", problem: "classification"},
    {name: "spiral", label: "Spiral", problem: "classification"},
    {name: "spirals", label: "k spirals", problem: "classification"},
    {name: "blobs", label: "k blobs", problem: "classification"},
    {name: "plane", label: "Plane", problem: "regression"},
    {name: "multi-gauss", label: "Multi gaussian", problem: "regression"},
  ];
  const FEATURES = [
    {name: "x", label: "X\u2081"}, {name: "y", label: "X\u2082"},
    {name: "xSquared", label: "X\u2081\u00b2"},
    {name: "ySquared", label: "X\u2082\u00b2"},
    {name: "xTimesY", label: "X\u2081X\u2082"},
    {name: "sinX", label: "sin(X\u2081)"},
    {name: "sinY", label: "sin(X\u2082)"},
  ];
  const MAX_LAYERS = 8;
  const MAX_NEURONS = 32;
  const MIN_STEP = 64;  // px between two layers of the network
  const DOMAIN = 6;  // the data live in [-6, 6]², as in Playground

  // ---- what the page knows (exposed for tests as window.playground) ------

  const pg = {
    state: null, lastFrame: null, framesReceived: 0, data: null,
    limits: {}, query: "", lastExport: null, lastSeeds: null,
    errors: [], playing: false, connected: false, history: [],
  };
  window.playground = pg;

  const $ = (id) => document.getElementById(id);
  const initialSearch = window.location.search;
  const token = new URLSearchParams(initialSearch).get("token");
  let socket = null;
  let drawPending = false;
  let layoutKey = "";  // the network's shape as drawn (rebuild on change)

  // ---- colours ----------------------------------------------------------

  function mix(a, b, t) {
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t,
      a[2] + (b[2] - a[2]) * t];
  }

  // Playground's scale: -1 orange, 0 grey, +1 blue, clamped.
  function diverging(v) {
    const t = Math.max(-1, Math.min(1, v));
    return t < 0 ? mix(GREY, ORANGE, -t) : mix(GREY, BLUE, t);
  }

  function css(rgb) {
    return "rgb(" + rgb.map(Math.round).join(",") + ")";
  }

  function isMulticlass() {
    return pg.data ? pg.data.classes > 2 : (pg.state && pg.state.classes > 2 &&
      ["spirals", "blobs"].includes(pg.state.dataset));
  }

  function isRegression() {
    const task = pg.data ? pg.data.task : pg.state && pg.state.problem;
    return task === "regression";
  }

  function labelColour(label) {
    if (isRegression()) return diverging(label);
    if (isMulticlass()) return PALETTE[label % PALETTE.length];
    return label > 0 ? BLUE : ORANGE;
  }

  // ---- arrays: images come as base64 bytes (protocol.md) -----------------

  function bytesOf(text) {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }

  // An image in [-1, 1]: byte b stands for b / 127.5 - 1 (plain lists are
  // taken as they are).
  function values(field) {
    if (field == null) return [];
    const raw = field.values !== undefined ? field.values : field;
    if (typeof raw !== "string") return raw;
    return Array.from(bytesOf(raw), (b) => b / 127.5 - 1);
  }

  // Class indices (bytes as they are) and probabilities (byte = p · 255).
  function classIndices(raw) {
    return typeof raw === "string" ? bytesOf(raw) : raw || [];
  }

  function probabilities(raw) {
    if (typeof raw !== "string") return raw || [];
    return Array.from(bytesOf(raw), (b) => b / 255);
  }

  // ---- the message bar --------------------------------------------------

  let messageTimer = null;

  function showMessage(text, kind) {
    const bar = $("message-bar");
    $("message-text").textContent = text;
    bar.className = kind || "error";
    bar.hidden = false;
    clearTimeout(messageTimer);
    // errors stay until dismissed or replaced; notes fade by themselves
    if (kind === "note") messageTimer = setTimeout(hideMessage, 6000);
  }

  function hideMessage() {
    $("message-bar").hidden = true;
  }

  // ---- the socket -------------------------------------------------------

  // The page's own query goes with the socket's address: the server starts
  // the session from it (a shared link restores its run, seed included; the
  // server reads its own format). After a reconnect the address bar holds
  // the latest state, so the settings come back.
  // A TensorFlow Playground address's settings (its "#activation=tanh&x=true
  // ..." part) pasted after this page's address open here too: the server
  // translates them; the address bar then holds this page's own query.
  function linkQuery() {
    if (window.location.search) return window.location.search;
    const hash = window.location.hash.slice(1);
    return hash.includes("=") ? "?" + hash : "";
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const base = window.location.pathname.replace(/[^/]*$/, "");
    return scheme + "//" + window.location.host + base + "ws" + linkQuery();
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showMessage("not connected to the server (" + LOST + ")", "error");
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  function setState(patch) {
    send({type: "set", state: patch});
  }

  let retries = 0;
  const LOST = "is `neuralab playground` still running? the page " +
    "reconnects by itself when it is";

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.onopen = () => {
      pg.connected = true;
      $("connection").textContent = "connected";
      $("connection").className = "connection ok";
      if (retries > 0) {
        showMessage("reconnected: the settings of the page's link are back; " +
          "the network starts again", "note");
      }
      retries = 0;
    };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data));
    socket.onclose = onClose;
  }

  function onClose(event) {
    pg.connected = false;
    $("connection").className = "connection lost";
    if (event.code === 4401) {
      $("connection").textContent = "refused";
      showMessage("the server refused this page: the link needs the " +
        "teacher's token (…/?token=…)", "error");
      return;
    }
    if (event.code === 4408) {
      $("connection").textContent = "closed (idle)";
      showMessage("the server closed this idle page: reload it to go on",
        "error");
      return;
    }
    // The server keeps no session after a disconnect; the URL holds the
    // state, so a reconnect restores the settings (not the weights). Said at
    // once (nothing trains while it lasts), and tried again for as long as
    // the page is open: a teacher may restart the server minutes later.
    $("connection").textContent = "disconnected";
    pg.playing = false;
    updatePlayButton();
    if (retries === 0) {
      showMessage("lost the connection to the server: " + LOST, "error");
    }
    retries += 1;
    setTimeout(connect, Math.min(10000, 250 * 2 ** retries));
  }

  // ---- messages from the server -------------------------------------------

  const HANDLERS = {
    state: onState,
    data: onData,
    frame: onFrame,
    export: onExport,
    seeds_progress: onSeedsProgress,
    seeds: onSeeds,
    error: (m) => {
      pg.errors.push(m.message);
      showMessage(m.message, "error");
      // a refused value must not stay in its control: show what runs
      if (pg.state) showControls(pg.state);
      if (/^run \d+ seeds/.test(m.message)) stopSeeds("failed");
    },
    pong: () => {},
  };

  function onMessage(message) {
    const handler = HANDLERS[message.type];
    if (handler) handler(message);
  }

  function onState(message) {
    if (seedsRunning && rebuilds(pg.state, message.state)) {
      stopSeeds("cancelled: the setting changed");
    }
    pg.state = message.state;
    pg.limits = message.limits || pg.limits;
    pg.query = message.query || "";
    if ("playing" in message) followServer(message.playing);
    updateUrl();
    applyState();
  }

  function onData(message) {
    pg.data = message;
    updateAddLabels();
    scheduleDraw();
  }

  // Why the server stopped by itself (the target accuracy, a divergence), as
  // last shown: each reason is said once, when it first comes, whatever the
  // play button's guard against stale frames (a divergence in the first
  // epochs comes within its 2 s). A diverged net says it again on each play
  // or step, which cannot train it.
  let shownStopped = null;

  function onFrame(message) {
    pg.lastFrame = message;
    pg.framesReceived += 1;
    if ("playing" in message) followServer(message.playing);
    const why = message.stopped;
    if (why && why !== shownStopped) {
      shownStopped = why;
      pg.playing = false;  // the server stopped: not a stale frame
      updatePlayButton();
      const diverged = /diverged/.test(why);
      showMessage("stopped: " + why, diverged ? "error" : "note");
    } else if (!why) {
      shownStopped = null;
    }
    record(message);
    scheduleDraw();
  }

  // A press of play or step asks again: a diverged net's reason comes again.
  function pressed() {
    if (shownStopped && /diverged/.test(shownStopped)) shownStopped = null;
  }

  // ---- the URL: the whole state, so a link restores the run ---------------

  function updateUrl() {
    let query = pg.query;
    if (token) {
      query += (query ? "&" : "") + "token=" + encodeURIComponent(token);
    }
    const url = window.location.pathname + (query ? "?" + query : "");
    window.history.replaceState(null, "", url);
  }

  // Only the classroom flags are read here, to hide parts before the first
  // message arrives; the server reads the rest.
  function hiddenInLink() {
    const hide = new URLSearchParams(initialSearch).get("hide");
    return hide && hide !== "none" ? hide.split(",") : [];
  }

  // ---- the state into the controls ----------------------------------------

  function fillSelect(id, options, format) {
    const select = $(id);
    for (const value of options) {
      const option = document.createElement("option");
      option.value = value === null ? "" : String(value);
      option.textContent = format ? format(value) : String(value);
      select.appendChild(option);
    }
  }

  // Values from the server as the controls spell them (numbers compared as
  // numbers: 1e-05 and 0.00001 are one learning rate).
  function showValue(control, value) {
    if (control.type === "checkbox") {
      control.checked = Boolean(value);
      return;
    }
    if (control.tagName === "SELECT" && typeof value === "number") {
      const match = Array.from(control.options)
        .find((o) => o.value !== "" && Number(o.value) === value);
      control.value = match ? match.value : String(value);
      return;
    }
    control.value = value === null || value === undefined ? "" : String(value);
  }

  function showControls(s) {
    for (const control of document.querySelectorAll("[data-field]")) {
      const field = control.dataset.field;
      if (field in s) showValue(control, s[field]);
    }
  }

  function applyState() {
    const s = pg.state;
    showControls(s);
    for (const key of ["percTrainData", "noise", "batchSize"]) {
      $(key + "-value").textContent = s[key];
    }
    $("problem").textContent = s.problem || datasetInfo(s.dataset).problem;
    $("classes-field").hidden = !["spirals", "blobs"].includes(s.dataset);
    $("momentum").disabled = s.optimizer !== "momentum";
    // a choice for two classes only: more need softmax, regression squared error
    $("loss").disabled = s.problem === "regression" ||
      (pg.data ? pg.data.classes : s.classes) > 2 &&
      ["spirals", "blobs", "upload"].includes(s.dataset);
    for (const button of document.querySelectorAll(".dataset")) {
      button.classList.toggle("selected", button.dataset.dataset === s.dataset);
    }
    applyHide(s.hide || []);
    updatePlayButton();
    const shape = s.networkShape || [];
    $("num-layers").textContent = shape.length;
    $("layers-label").textContent =
      shape.length === 1 ? "hidden layer" : "hidden layers";
    // at a limit the button is greyed out, not a click that silently does nothing
    const maxLayers = pg.limits.maxLayers || MAX_LAYERS;
    $("add-layers").disabled = shape.length >= maxLayers;
    $("add-layers").title = shape.length >= maxLayers ?
      "At most " + maxLayers + " hidden layers" : "Add a hidden layer";
    $("remove-layers").disabled = shape.length === 0;
    $("seeds-button").textContent = "Run " + seedCount() + " seeds";
    layoutKey = "";  // features or activations may have changed
    scheduleDraw();
  }

  function datasetInfo(name) {
    return DATASETS.find((d) => d.name === name) ||
      {name: name, label: name, problem: "classification"};
  }

  // Classroom flags: hide=dataset,features,... hides those parts.
  function applyHide(hidden) {
    for (const part of document.querySelectorAll("[data-part]")) {
      part.classList.toggle("hidden-part", hidden.includes(part.dataset.part));
    }
    for (const part of ["features", "weights"]) {
      document.body.classList.toggle("hide-" + part, hidden.includes(part));
    }
  }

  // Frames computed before the server read a play/pause still carry the old
  // flag: until one carries the new one (or 2 s pass), they do not flip the
  // button back.
  let playingSince = 0;

  function setPlaying(playing) {
    pg.playing = playing;
    playingSince = Date.now();
    updatePlayButton();
  }

  function followServer(playing) {
    if (playing === pg.playing) {
      playingSince = 0;
      return false;
    }
    if (Date.now() - playingSince < 2000) return false;
    pg.playing = playing;
    updatePlayButton();
    return true;
  }

  function updatePlayButton() {
    const button = $("play-pause-button");
    button.classList.toggle("playing", pg.playing);
    button.setAttribute("aria-pressed", String(pg.playing));
  }

  // Points the user adds by clicking carry the labels the data use.
  function updateAddLabels() {
    const select = $("add-label");
    const previous = select.value;
    select.textContent = "";
    let options;
    if (isRegression()) {
      options = [-1, -0.5, 0, 0.5, 1].map((v) => [v, "value " + v]);
    } else if (isMulticlass()) {
      options = Array.from({length: pg.data.classes}, (_, c) =>
        [c, "class " + c]);
    } else {
      options = [[0, "orange (0)"], [1, "blue (1)"]];
    }
    for (const [value, text] of options) {
      const option = document.createElement("option");
      option.value = String(value);
      option.textContent = text;
      select.appendChild(option);
    }
    if (options.some(([v]) => String(v) === previous)) select.value = previous;
  }

  // ---- controls into messages -----------------------------------------------

  function readControl(control) {
    const type = control.dataset.type;
    if (type === "bool") return control.checked;
    if (type === "number") return Number(control.value);
    if (control.value === "" && type && type.startsWith("nullable")) {
      return null;
    }
    if (type === "nullable-number") return Number(control.value);
    return control.value;
  }

  function bindControls() {
    for (const control of document.querySelectorAll("[data-field]")) {
      // range inputs show their value while dragged, send it on release
      control.addEventListener("input", () => {
        const label = $(control.id + "-value");
        if (label) label.textContent = control.value;
      });
      control.addEventListener("change", () => onControl(control));
    }
    $("play-pause-button").addEventListener("click", () => {
      pressed();
      setPlaying(!pg.playing);
      send({type: pg.playing ? "play" : "pause"});
    });
    $("next-step-button").addEventListener("click", () => {
      pressed();
      setPlaying(false);  // Playground's step pauses a running net
      send({type: "step"});
    });
    $("reset-button").addEventListener("click", () => {
      if (seedsRunning) stopSeeds("cancelled: the network was reset");
      send({type: "reset"});
    });
    $("regenerate").addEventListener("click", () => send({type: "regenerate"}));
    $("add-layers").addEventListener("click", () => changeLayers(+1));
    $("remove-layers").addEventListener("click", () => changeLayers(-1));
    $("upload-input").addEventListener("change", onUpload);
    $("heatmap").addEventListener("click", onHeatmapClick);
    $("export-button").addEventListener("click", () => send({type: "export"}));
    $("seeds-button").addEventListener("click", onSeedsButton);
    $("message-close").addEventListener("click", hideMessage);
    $("weight-input").addEventListener("keydown", onWeightKey);
    $("weight-input").addEventListener("blur", closeEditor);
    window.addEventListener("resize", () => {
      layoutKey = "";
      scheduleDraw();
    });
  }

  function onControl(control) {
    const field = control.dataset.field;
    const patch = {[field]: readControl(control)};
    // One activation for the whole net replaces any per-layer choice.
    if (field === "activation") patch.layerActivations = null;
    if (field === "seed" && !(patch.seed >= 0)) {
      showMessage("seed must be a whole number ≥ 0, got " + control.value);
      showControls(pg.state);
      return;
    }
    setState(patch);
  }

  function changeLayers(delta) {
    const shape = pg.state.networkShape.slice();
    if (delta > 0 && shape.length >= (pg.limits.maxLayers || MAX_LAYERS)) {
      return;
    }
    if (delta < 0 && shape.length === 0) return;
    if (delta > 0) shape.push(shape.length ? shape[shape.length - 1] : 4);
    else shape.pop();
    const patch = {networkShape: shape};
    const per = pg.state.layerActivations;
    if (per) {
      patch.layerActivations = per.slice(0, shape.length);
      while (patch.layerActivations.length < shape.length) {
        patch.layerActivations.push(pg.state.activation);
      }
    }
    setState(patch);
  }

  function changeNeurons(layer, delta) {
    const shape = pg.state.networkShape.slice();
    const size = shape[layer] + delta;
    if (size < 1 || size > (pg.limits.maxNeurons || MAX_NEURONS)) return;
    shape[layer] = size;
    setState({networkShape: shape});
  }

  function changeLayerActivation(layer, value) {
    const n = pg.state.networkShape.length;
    const per = (pg.state.layerActivations ||
      Array(n).fill(pg.state.activation)).slice();
    per[layer] = value;
    setState({layerActivations: per});
  }

  function toggleFeature(name) {
    const on = pg.state.features.includes(name);
    // keep Playground's order of the features, whatever the click order
    const features = FEATURES.map((f) => f.name).filter((f) =>
      f === name ? !on : pg.state.features.includes(f));
    setState({features: features});
  }

  async function onUpload(event) {
    const file = event.target.files[0];
    event.target.value = "";  // the same file can be chosen again
    if (!file) return;
    const cap = pg.limits.maxUploadBytes || 262144;
    if (file.size > cap) {
      showMessage("the file " + file.name + " has " + file.size +
        " bytes; the playground takes CSV files up to " + cap + " bytes");
      return;
    }
    send({type: "upload", csv: await file.text()});
  }

  function onHeatmapClick(event) {
    const canvas = $("heatmap");
    const box = canvas.getBoundingClientRect();
    const x = -DOMAIN + 2 * DOMAIN * (event.clientX - box.left) / box.width;
    const y = DOMAIN - 2 * DOMAIN * (event.clientY - box.top) / box.height;
    const label = Number($("add-label").value);
    send({type: "add_point", x: round(x, 3), y: round(y, 3), label: label});
  }

  function round(v, digits) {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
  }

  // ---- export and "run n seeds" -------------------------------------------

  function onExport(message) {
    pg.lastExport = message;
    const name = message.filename || "playground.toml";
    const toml = new Blob([message.toml], {type: "application/toml"});
    setDownload($("export-toml"), toml, name);
    const bytes = Uint8Array.from(atob(message.model_npz_base64 || ""),
      (c) => c.charCodeAt(0));
    const npz = new Blob([bytes], {type: "application/octet-stream"});
    setDownload($("export-npz"), npz, message.model_filename ||
      name.replace(/\.toml$/, "") + ".npz");
    // own data travel with the config, which names the file
    $("export-csv").hidden = !message.csv;
    if (message.csv) {
      setDownload($("export-csv"), new Blob([message.csv], {type: "text/csv"}),
        message.csv_filename || "playground.csv");
    }
    $("export-command").textContent = message.command;
    $("export-note").textContent = message.exact
      ? "reproduces this run exactly"
      : "not exact: " + (message.note || "the run was changed mid-way");
    $("export-result").hidden = false;
  }

  function setDownload(link, blob, name) {
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.textContent = name;
  }

  function seedCount() {
    return 50;
  }

  // Fields whose change keeps the network (and a seeds run) going.
  const KEEPS_NET = ["discretize", "showTestData", "hide", "targetAccuracy",
    "learningRate", "regularizationRate"];
  let seedsRunning = false;

  function rebuilds(old, state) {
    return Boolean(old) && Object.keys(state).some((key) =>
      !KEEPS_NET.includes(key) &&
      JSON.stringify(old[key]) !== JSON.stringify(state[key]));
  }

  // The server drops a seeds run when the network is rebuilt, silently.
  function stopSeeds(why) {
    seedsRunning = false;
    $("seeds-progress").hidden = true;
    $("seeds-result").textContent = "seeds " + why;
  }

  function onSeedsButton() {
    const n = seedCount();
    if (!send({type: "seeds", n: n})) return;
    seedsRunning = true;
    pg.lastSeeds = null;
    $("seeds-progress").max = n;
    $("seeds-progress").value = 0;
    $("seeds-progress").hidden = false;
    $("seeds-result").textContent = "running " + n + " seeds…";
  }

  function onSeedsProgress(message) {
    $("seeds-progress").hidden = false;
    $("seeds-progress").max = message.total;
    $("seeds-progress").value = message.done;
    $("seeds-result").textContent =
      "running seeds: " + message.done + "/" + message.total;
  }

  function onSeeds(message) {
    seedsRunning = false;
    pg.lastSeeds = message;
    $("seeds-progress").hidden = true;
    const pct = (v) => (100 * v).toFixed(0) + " %";
    const level = Math.round(100 * (message.confidence || 0.95));
    let text = message.successes + "/" + message.n +
      " reached the target — rate " + pct(message.rate) + " (" + level +
      " % CI " + pct(message.low) + "–" + pct(message.high) + ")";
    if (message.median_epochs != null) {
      text += "; median " + message.median_epochs + " epochs";
    }
    if (message.target) text += " · target: " + message.target;
    $("seeds-result").textContent = text;
  }

  // ---- curves: the page keeps train/test loss per epoch -------------------

  function record(frame) {
    const h = pg.history;
    // a reset (or a change that resets the net) starts the curves again
    while (h.length && h[h.length - 1].epoch >= frame.epoch) h.pop();
    h.push({epoch: frame.epoch, train: frame.train_loss,
      test: frame.test_loss});
  }

  // ---- drawing (at most once per animation frame) -------------------------

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    window.requestAnimationFrame(() => {
      drawPending = false;
      draw();
    });
  }

  function draw() {
    if (!pg.state) return;
    const frame = pg.lastFrame;
    drawHeatmap(frame);
    drawNetwork(frame);
    drawCurves();
    if (frame) showMetrics(frame);
    drawLegend();
  }

  // Playground's three decimals; a diverging loss (1e+251) short, not 25
  // digits wide
  function formatLoss(v) {
    if (v == null || !Number.isFinite(Number(v))) return "–";
    const x = Number(v);
    return Math.abs(x) >= 1000 ? x.toExponential(2) : x.toFixed(3);
  }

  function formatEpoch(epoch) {
    return String(epoch).padStart(6, "0").replace(/(\d{3})(\d{3})$/, "$1,$2");
  }

  function showMetrics(frame) {
    const fmt = formatLoss;
    const pct = (v) => v == null ? "–" : (100 * v).toFixed(1) + " %";
    $("epoch-number").textContent = formatEpoch(frame.epoch);
    $("train-loss").textContent = fmt(frame.train_loss);
    $("test-loss").textContent = fmt(frame.test_loss);
    $("train-acc").textContent = pct(frame.train_acc);
    $("test-acc").textContent = pct(frame.test_acc);
    drawConfusion(frame.confusion);

  }

  // One pixel per grid cell, then scaled up by drawImage: the 100×100 grid
  // of the frame, as Playground's heat map. A thumbnail's canvas has the
  // grid's size and takes the pixels directly (CSS scales it).
  const scratch = {};

  function paintGrid(canvas, field, colourAt) {
    const n = Math.round(Math.sqrt(field.length));
    if (!n) return;
    const direct = canvas.width === n && canvas.height === n;
    let small = canvas;
    if (!direct) {
      small = scratch[n] || (scratch[n] = document.createElement("canvas"));
      small.width = small.height = n;
    }
    const ctx = small.getContext("2d");
    const image = ctx.createImageData(n, n);
    const data = image.data;
    for (let i = 0; i < n * n; i++) {
      const rgb = colourAt(i);
      data[4 * i] = rgb[0];
      data[4 * i + 1] = rgb[1];
      data[4 * i + 2] = rgb[2];
      data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
    if (direct) return;
    const target = canvas.getContext("2d");
    target.imageSmoothingEnabled = true;
    target.drawImage(small, 0, 0, canvas.width, canvas.height);
  }

  function heatColours(heatmap) {
    const discrete = pg.state.discretize;
    // k classes come as class indices with a confidence (the frame says
    // so itself: the data message may already be a newer one)
    if (heatmap.confidence !== undefined) {
      const v = classIndices(heatmap.values);
      const conf = probabilities(heatmap.confidence);
      const k = Math.max(2, pg.data ? pg.data.classes : pg.state.classes);
      return [v, (i) => {
        const colour = PALETTE[Math.round(v[i]) % PALETTE.length] || GREY;
        if (discrete || !conf.length) return colour;
        // as sure as chance is grey, certain is the class's full colour
        const t = Math.max(0, (conf[i] - 1 / k) / (1 - 1 / k));
        return mix(GREY, colour, 0.15 + 0.85 * t);
      }];
    }
    const v = values(heatmap);
    return [v, (i) => diverging(discrete ? Math.sign(v[i]) : v[i])];
  }

  let hovered = null;  // the neuron under the mouse, shown in the heat map

  function drawHeatmap(frame) {
    const canvas = $("heatmap");
    fitCanvas(canvas, true);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = css(GREY);
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (hovered && hovered.isConnected) {
      // Playground's hover: a neuron's own picture, big, under the data
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(hovered.querySelector("canvas"), 0, 0, canvas.width,
        canvas.height);
    } else if (frame && frame.heatmap) {
      const [v, colourAt] = heatColours(frame.heatmap);
      paintGrid(canvas, v, colourAt);
    }
    drawPoints(canvas);
  }

  function drawPoints(canvas) {
    if (!pg.data) return;
    const ctx = canvas.getContext("2d");
    const scale = canvas.width / (2 * DOMAIN);
    const r = Math.max(2, canvas.width / 110);
    const sets = [[pg.data.train, "white"]];
    if (pg.state.showTestData) sets.push([pg.data.test, "black"]);
    for (const [points, stroke] of sets) {
      ctx.strokeStyle = stroke;
      ctx.lineWidth = Math.max(1, r / 3);
      for (const [x, y, label] of points) {
        ctx.beginPath();
        ctx.arc((x + DOMAIN) * scale, (DOMAIN - y) * scale, r, 0, 2 * Math.PI);
        ctx.fillStyle = css(labelColour(label));
        ctx.fill();
        ctx.stroke();
      }
    }
  }

  // Canvas pixels follow the CSS size (sharp on any screen).
  function fitCanvas(canvas, square) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(50, Math.round(canvas.clientWidth * ratio));
    const height = square ? width : Math.round(canvas.clientHeight * ratio);
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
  }

  function drawCurves() {
    const canvas = $("loss-curve");
    fitCanvas(canvas, false);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const h = pg.history.filter((p) => Number.isFinite(p.train));
    if (h.length < 2) return;
    const top = Math.max(...h.map((p) => Math.max(p.train,
      Number.isFinite(p.test) ? p.test : 0)));
    const first = h[0].epoch;
    const span = Math.max(1, h[h.length - 1].epoch - first);
    const px = (e) => (e - first) / span * (canvas.width - 2) + 1;
    const py = (v) => canvas.height - 2 - v / (top || 1) * (canvas.height - 4);
    for (const [key, colour] of [["train", "#999"], ["test", "#222"]]) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
      ctx.beginPath();
      h.forEach((p, i) => {
        if (!Number.isFinite(p[key])) return;
        if (i === 0) ctx.moveTo(px(p.epoch), py(p[key]));
        else ctx.lineTo(px(p.epoch), py(p[key]));
      });
      ctx.stroke();
    }
  }

  function drawConfusion(matrix) {
    const table = $("confusion");
    $("confusion-wrap").hidden = !matrix || !matrix.length;
    if (!matrix || !matrix.length) return;
    const rows = matrix.map((row, i) => "<tr><th>" + i + "</th>" +
      row.map((n) => "<td>" + n + "</td>").join("") + "</tr>");
    const head = "<tr><th></th>" +
      matrix[0].map((_, j) => "<th>" + j + "</th>").join("") + "</tr>";
    table.innerHTML = head + rows.join("");
  }

  function drawLegend() {
    const legend = $("colour-legend");
    let key;
    if (isRegression()) key = "regression: -1 orange · 0 grey · +1 blue";
    else if (isMulticlass()) key = "one colour per class";
    else key = "orange: class 0 · blue: class 1";
    if (legend.textContent !== key) legend.textContent = key;
  }

  // ---- the network: nodes as small canvases, links in SVG -----------------

  // The network's geometry for the current state and width.
  function layout() {
    const s = pg.state;
    const net = $("network");
    const width = Math.max(280, $("network-scroll").clientWidth - 8);
    const hidden = s.networkShape || [];
    const outputs = pg.lastFrame && pg.lastFrame.weights &&
      pg.lastFrame.weights.length
      ? lastColumn(pg.lastFrame.weights[pg.lastFrame.weights.length - 1])
      : 1;
    const columns = [FEATURES.length].concat(hidden, [outputs]);
    const most = Math.max(...columns);
    const node = Math.max(12, Math.min(34, Math.floor(480 / most) - 8));
    const gap = Math.max(4, Math.round(node / 3));
    const top = 54;  // room for the layer headers and their buttons
    const height = top + most * (node + gap) + 10;
    const left = 70;  // feature labels sit left of their nodes
    const spans = Math.max(1, columns.length - 1);
    // a layer's header needs ~64 px: a deep net on a narrow screen gets
    // wider than its column and scrolls sideways inside it
    const step = Math.max(MIN_STEP, (width - left - node - 10) / spans);
    const full = Math.max(width, Math.ceil(left + spans * step + node + 10));
    net.style.height = height + "px";
    net.style.width = full + "px";
    return {columns, node, gap, top, height, width: full, step,
      x: (c) => left + c * step};
  }

  function lastColumn(matrix) {
    return matrix.length ? matrix[0].length : 1;
  }

  // Which column of weights[0] feeds from each of the 7 features (-1: off).
  function featureRows() {
    return FEATURES.map((f) => pg.state.features.indexOf(f.name));
  }

  function drawNetwork(frame) {
    const geo = layout();
    const key = JSON.stringify([geo.columns, geo.width, pg.state.features,
      pg.state.activation, pg.state.layerActivations, pg.state.hide]);
    if (key !== layoutKey) {
      layoutKey = key;
      buildNetwork(geo);
    }
    if (frame) updateNetwork(frame, geo);
  }

  function nodeY(geo, column, index) {
    const count = geo.columns[column];
    const most = Math.max(...geo.columns);
    const offset = (most - count) * (geo.node + geo.gap) / 2;
    return geo.top + offset + index * (geo.node + geo.gap);
  }

  function buildNetwork(geo) {
    const net = $("network");
    for (const old of net.querySelectorAll(".node, .layer-head")) old.remove();
    const svg = $("links");
    svg.textContent = "";
    svg.setAttribute("width", geo.width);
    svg.setAttribute("height", geo.height);
    buildFeatures(net, geo);
    for (let c = 1; c < geo.columns.length; c++) {
      const isOutput = c === geo.columns.length - 1;
      if (!isOutput) net.appendChild(layerHead(c - 1, geo));
      for (let j = 0; j < geo.columns[c]; j++) {
        net.appendChild(makeNode(geo, c, j, isOutput ? "output" : "neuron"));
      }
    }
    buildLinks(svg, geo);
  }

  function buildFeatures(net, geo) {
    const rows = featureRows();
    FEATURES.forEach((feature, i) => {
      const node = makeNode(geo, 0, i, "feature");
      node.classList.toggle("off", rows[i] < 0);
      node.dataset.feature = feature.name;
      node.title = "switch " + feature.label + (rows[i] < 0 ? " on" : " off");
      const label = document.createElement("span");
      label.className = "feature-label";
      label.textContent = feature.label;
      node.appendChild(label);
      node.addEventListener("click", () => toggleFeature(feature.name));
      net.appendChild(node);
    });
  }

  function makeNode(geo, column, index, kind) {
    const node = document.createElement("div");
    node.className = "node " + kind;
    node.id = kind === "feature"
      ? "feature-" + FEATURES[index].name
      : "node-" + column + "-" + index;
    node.dataset.testid = node.id;
    node.style.left = geo.x(column) + "px";
    node.style.top = nodeY(geo, column, index) + "px";
    node.style.width = node.style.height = geo.node + "px";
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 25;
    node.appendChild(canvas);
    node.addEventListener("mouseenter", () => {
      hovered = node.classList.contains("off") ? null : node;
      scheduleDraw();
    });
    node.addEventListener("mouseleave", () => {
      hovered = null;
      scheduleDraw();
    });
    if (kind !== "feature") {
      const bias = document.createElement("div");
      bias.className = "bias";
      bias.title = "bias: click to edit";
      bias.addEventListener("mouseenter", () => {
        const b = currentBias(column, index);
        bias.title = "Bias is " + (b == null ? "not a number" : round(b, 3)) +
          " (click to edit)";
      });
      bias.addEventListener("click", (event) => {
        event.stopPropagation();
        openBiasEditor(event, column, index);
      });
      node.appendChild(bias);
    }
    return node;
  }

  // A layer's header: its size with +/− and its own activation.
  function layerHead(layer, geo) {
    const head = document.createElement("div");
    head.className = "layer-head";
    head.style.left = (geo.x(layer + 1) - 14) + "px";
    head.style.width = Math.min(70, geo.step - 4) + "px";
    const plus = button("+", "add a neuron", () => changeNeurons(layer, +1));
    const minus = button("\u2212", "remove a neuron",
      () => changeNeurons(layer, -1));
    plus.id = "add-neuron-" + layer;
    minus.id = "remove-neuron-" + layer;
    const most = pg.limits.maxNeurons || MAX_NEURONS;
    plus.disabled = pg.state.networkShape[layer] >= most;
    if (plus.disabled) plus.title = "at most " + most + " neurons a layer";
    minus.disabled = pg.state.networkShape[layer] <= 1;
    const buttons = document.createElement("div");
    buttons.className = "neuron-buttons";
    buttons.dataset.part = "network";
    buttons.append(plus, minus);
    const count = document.createElement("div");
    const n = pg.state.networkShape[layer];
    count.title = n + (n === 1 ? " neuron" : " neurons");
    count.textContent = geo.step < 80 ? String(n) : count.title;
    const select = document.createElement("select");
    select.id = "layer-activation-" + layer;
    select.dataset.part = "activation";
    select.title = "this layer's activation";
    for (const a of ACTIVATIONS) select.add(new Option(a, a));
    const per = pg.state.layerActivations;
    select.value = per && per[layer] ? per[layer] : pg.state.activation;
    select.addEventListener("change",
      () => changeLayerActivation(layer, select.value));
    head.append(buttons, count, select);
    applyHideTo(head);
    return head;
  }

  function applyHideTo(element) {
    const hidden = (pg.state && pg.state.hide) || [];
    for (const part of element.querySelectorAll("[data-part]")) {
      part.classList.toggle("hidden-part", hidden.includes(part.dataset.part));
    }
  }

  function button(text, title, onClick) {
    const b = document.createElement("button");
    b.className = "round tiny";
    b.textContent = text;
    b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  const SVG = "http://www.w3.org/2000/svg";

  // One visible path per weight and, over it, a wide transparent one that
  // takes the click (thin links would be hard to hit).
  let links = [];  // {path, layer, source, target, look} of every weight

  function buildLinks(svg, geo) {
    links = [];
    const rows = featureRows();
    const sources = [FEATURES.map((_, i) => i).filter((i) => rows[i] >= 0)];
    for (let c = 1; c < geo.columns.length - 1; c++) {
      sources.push(Array.from({length: geo.columns[c]}, (_, i) => i));
    }
    const half = geo.node / 2;
    const visible = document.createElementNS(SVG, "g");
    const hits = document.createElementNS(SVG, "g");
    for (let layer = 0; layer < sources.length; layer++) {
      const targets = geo.columns[layer + 1];
      sources[layer].forEach((displayIndex) => {
        const source = layer === 0 ? rows[displayIndex] : displayIndex;
        const x1 = geo.x(layer) + geo.node;
        const y1 = nodeY(geo, layer, displayIndex) + half;
        for (let j = 0; j < targets; j++) {
          const x2 = geo.x(layer + 1);
          const y2 = nodeY(geo, layer + 1, j) + half;
          const d = curve(x1, y1, x2, y2);
          const path = document.createElementNS(SVG, "path");
          path.setAttribute("d", d);
          path.setAttribute("class", "link");
          path.id = "link-" + (layer + 1) + "-" + source + "-" + j;
          visible.appendChild(path);
          links.push({path, layer, source, target: j, look: ""});
          const hit = document.createElementNS(SVG, "path");
          hit.setAttribute("d", d);
          hit.setAttribute("class", "link-hit");
          hit.dataset.layer = layer + 1;
          hit.dataset.source = source;
          hit.dataset.target = j;
          hit.addEventListener("click", openWeightEditor);
          hit.addEventListener("mouseenter", titleWeight);
          hits.appendChild(hit);
        }
      });
    }
    svg.append(visible, hits);
  }

  function curve(x1, y1, x2, y2) {
    const mid = (x1 + x2) / 2;
    return "M" + x1 + "," + y1 + " C" + mid + "," + y1 + " " + mid + "," + y2 +
      " " + x2 + "," + y2;
  }

  // Each frame: thumbnails, and each link's width and colour from its weight
  // (Playground's scales: width 1–10 px for |w| in 0–5, colour by sign).
  // Widths are kept to 0.25 px and a link is touched only when its look
  // changes: a 32-wide net has 7,000 links, and every touched one costs the
  // browser a style pass.
  function updateNetwork(frame, geo) {
    const weights = frame.weights || [];
    for (const link of links) {
      const row = weights[link.layer] && weights[link.layer][link.source];
      if (!row || row[link.target] === undefined) continue;
      const w = row[link.target];
      const width = Math.round(4 * (1 + 9 * Math.min(1, Math.abs(w) / 5))) / 4;
      const look = width + "px " + css(diverging(w));
      if (look === link.look) continue;
      link.look = look;
      link.path.style.strokeWidth = width + "px";
      link.path.style.stroke = css(diverging(w));
    }
    drawThumbnails(frame, geo);
  }

  function drawThumbnails(frame, geo) {
    const neurons = frame.neurons || [];
    if (neurons.length) {
      const inputs = neurons[0];
      const rows = featureRows();
      FEATURES.forEach((f, i) => {
        const k = inputs.length === FEATURES.length ? i : rows[i];
        const node = $("feature-" + f.name);
        if (node && k >= 0 && inputs[k]) thumbnail(node, inputs[k]);
      });
    }
    const last = geo.columns.length - 1;
    for (let c = 1; c <= last; c++) {
      const layer = neurons[c] || [];
      // output nodes without a picture each (the server sends one for the
      // whole output) show the heat map
      const own = c < last || layer.length === geo.columns[c];
      for (let j = 0; j < geo.columns[c]; j++) {
        const node = $("node-" + c + "-" + j);
        if (!node) continue;
        if (own && layer[j]) thumbnail(node, layer[j]);
        else if (c === last && frame.heatmap) {
          outputThumbnail(node, frame.heatmap);
        }
      }
    }
  }

  function thumbnail(node, neuron) {
    const canvas = node.querySelector("canvas");
    const v = values(neuron);
    paintGrid(canvas, v, (i) => diverging(v[i]));
  }

  function outputThumbnail(node, heatmap) {
    const canvas = node.querySelector("canvas");
    const [v, colourAt] = heatColours(heatmap);
    paintGrid(canvas, v, colourAt);
  }

  // ---- editing a weight or a bias -------------------------------------------

  let editing = null;

  // Playground's hover: "Weight is 0.23", read when the mouse arrives (a
  // title per link per frame would cost thousands of DOM writes).
  function currentWeight(layer, source, target) {
    const w = pg.lastFrame && pg.lastFrame.weights;
    const row = w && w[layer - 1] && w[layer - 1][source];
    return row ? row[target] : undefined;
  }

  function currentBias(layer, neuron) {
    const b = pg.lastFrame && pg.lastFrame.biases;
    return b && b[layer - 1] ? b[layer - 1][neuron] : undefined;
  }

  function titleWeight(event) {
    const hit = event.currentTarget;
    const t = hit.dataset;
    const w = currentWeight(Number(t.layer), Number(t.source),
      Number(t.target));
    let title = hit.querySelector("title");
    if (!title) {
      title = document.createElementNS(SVG, "title");
      hit.appendChild(title);
    }
    title.textContent = "Weight is " +
      (w == null ? "not a number" : round(w, 3)) + " (click to edit)";
  }

  function openWeightEditor(event) {
    const t = event.currentTarget.dataset;
    const layer = Number(t.layer);
    const source = Number(t.source);
    const target = Number(t.target);
    const w = pg.lastFrame && pg.lastFrame.weights
      ? pg.lastFrame.weights[layer - 1][source][target] : 0;
    editing = {type: "set_weight", layer, source, target};
    openEditor(event, "Weight " + source + "\u2192" + target +
      " (layer " + layer + ")", w);
  }

  function openBiasEditor(event, column, neuron) {
    const b = pg.lastFrame && pg.lastFrame.biases
      ? pg.lastFrame.biases[column - 1][neuron] : 0;
    editing = {type: "set_bias", layer: column, neuron};
    openEditor(event, "Bias of neuron " + neuron + " (layer " + column + ")",
      b);
  }

  function openEditor(event, label, value) {
    const editor = $("weight-editor");
    $("weight-editor-label").textContent = label;
    $("weight-input").value = round(value, 4);
    editor.style.left = event.pageX + 8 + "px";
    editor.style.top = event.pageY + 8 + "px";
    editor.hidden = false;
    $("weight-input").focus();
    $("weight-input").select();
  }

  function closeEditor() {
    $("weight-editor").hidden = true;
    editing = null;
  }

  function onWeightKey(event) {
    if (event.key === "Escape") closeEditor();
    if (event.key !== "Enter" || !editing) return;
    const value = Number($("weight-input").value);
    if (!Number.isFinite(value)) {
      showMessage("a weight must be a number, got '" +
        $("weight-input").value + "'");
      return;
    }
    send(Object.assign({}, editing, {value: value}));
    closeEditor();
  }

  // ---- data set buttons with small drawn icons ------------------------------

  // A fixed pseudo-random stream: the icons look the same on every load.
  function lcg(seed) {
    let s = seed;
    return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  }

  function iconPoints(name) {
    const rand = lcg(7);
    const pts = [];
    for (let i = 0; i < 90; i++) {
      const a = rand() * 2 * Math.PI;
      const x = rand() * 2 - 1;
      const y = rand() * 2 - 1;
      if (name === "circle") {
        const r = i % 2 ? 0.2 + rand() * 0.3 : 0.65 + rand() * 0.3;
        pts.push([r * Math.cos(a), r * Math.sin(a), i % 2 ? 1 : -1]);
      } else if (name === "xor") {
        pts.push([x, y, x * y > 0 ? 1 : -1]);
      } else if (name === "gauss") {
        const c = i % 2 ? 0.5 : -0.5;
        pts.push([c + (rand() - 0.5) * 0.6, c + (rand() - 0.5) * 0.6,
          i % 2 ? 1 : -1]);
      } else if (name === "spiral" || name === "spirals") {
        const k = name === "spiral" ? 2 : 3;
        const arm = i % k;
        const t = (i / 90) * 1.6 * Math.PI;
        const r = t / (1.8 * Math.PI);
        const th = t + arm * 2 * Math.PI / k;
        pts.push([r * Math.cos(th), r * Math.sin(th),
          k === 2 ? (arm ? 1 : -1) : arm]);
      } else if (name === "blobs") {
        const c = i % 3;
        const cx = [-0.5, 0.5, 0][c];
        const cy = [-0.4, -0.4, 0.5][c];
        pts.push([cx + (rand() - 0.5) * 0.5, cy + (rand() - 0.5) * 0.5, c]);
      } else if (name === "plane") {
        pts.push([x, y, (x + y) / 2]);
      } else {
        const d = Math.hypot(x - 0.4, y - 0.4) - Math.hypot(x + 0.4, y + 0.4);
        pts.push([x, y, Math.max(-1, Math.min(1, d))]);
      }
    }
    return pts;
  }

  function drawIcon(canvas, info) {
    const ctx = canvas.getContext("2d");
    const size = canvas.width;
    ctx.fillStyle = css(GREY);
    ctx.fillRect(0, 0, size, size);
    for (const [x, y, label] of iconPoints(info.name)) {
      let colour;
      if (info.problem === "regression") colour = diverging(label);
      else if (info.name === "spirals" || info.name === "blobs") {
        colour = PALETTE[label];
      } else colour = label > 0 ? BLUE : ORANGE;
      ctx.fillStyle = css(colour);
      ctx.beginPath();
      ctx.arc((x + 1) * size / 2, (1 - y) * size / 2, 1.6, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  function buildDatasets() {
    const box = $("datasets");
    for (const info of DATASETS) {
      const b = document.createElement("button");
      b.className = "dataset";
      b.id = "dataset-" + info.name;
      b.dataset.dataset = info.name;
      b.dataset.testid = "dataset-" + info.name;
      b.title = info.label + " (" + info.problem + ")";
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 40;
      drawIcon(canvas, info);
      const label = document.createElement("span");
      label.textContent = info.label;
      b.append(canvas, label);
      b.addEventListener("click", () => setState({dataset: info.name}));
      box.appendChild(b);
    }
  }

  // ---- start ------------------------------------------------------------

  function start() {
    fillSelect("learningRate", LEARNING_RATES);
    fillSelect("activation", ACTIVATIONS);
    fillSelect("regularization", [null, "L1", "L2"], (v) => v || "None");
    fillSelect("regularizationRate", REG_RATES);
    fillSelect("optimizer", OPTIMIZERS, (v) => ({sgd: "SGD",
      momentum: "SGD + momentum", adam: "Adam"})[v]);
    fillSelect("dropout", DROPOUTS);
    fillSelect("loss", ["squared", "cross_entropy"],
      (v) => ({squared: "squared error", cross_entropy: "cross-entropy"})[v]);
    fillSelect("schedule", SCHEDULES);
    fillSelect("targetAccuracy", TARGETS, (v) => v === null
      ? "never" : (100 * v) + " %");
    fillSelect("classes", [2, 3, 4, 5]);
    buildDatasets();
    bindControls();
    // the classroom flags of the link apply before the first message
    applyHide(hiddenInLink());
    connect();
  }

  start();
})();
