"""The browser half of the recorder: microphone, countdown, level meter, 16 kHz WAV bytes.

A small anywidget. On Record it asks for the microphone (``getUserMedia``, with echo
cancellation, noise suppression and automatic gain off, so the take is the voice as the
microphone hears it), counts down, records ``seconds`` + 0.3 s with ``MediaRecorder``
while a meter shows the level (green; amber below -45 dBFS, too quiet; red at a clipped
peak), then releases the microphone. Chromium records webm/opus, which soundfile cannot
read, so the page decodes it itself: ``decodeAudioData`` on an
``OfflineAudioContext(1, n, 16000)`` resamples to 16 kHz; the channels are averaged, the
last ``seconds`` kept (the first 0.3 s hold the onset), and the samples sent to the kernel
as the bytes of a 16-bit PCM WAV file (a binary buffer: the *third* argument of
``model.send``). Nothing is stored by the page.

Messages to the kernel (``Widget.on_msg``): ``{"type": "phase", "phase": "countdown" |
"recording" | "decoding"}``, ``{"type": "take"}`` with the WAV in ``buffers[0]``, and
``{"type": "error", "message": ...}`` (no microphone, permission refused, not a secure
context, decoding failed). The kernel says what the button may do through ``armed`` and
what it is doing through ``state``.
"""
from __future__ import annotations

import anywidget
from traitlets import Bool, Float, Int, Unicode

__all__ = ["MicCapture"]

_ESM = r"""
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function wav16(x, rate) {                       // mono float32 -> 16-bit PCM WAV bytes
  const buf = new ArrayBuffer(44 + 2 * x.length), v = new DataView(buf);
  const tag = (o, s) => { for (let i = 0; i < 4; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  tag(0, "RIFF"); v.setUint32(4, 36 + 2 * x.length, true); tag(8, "WAVE"); tag(12, "fmt ");
  v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true);
  v.setUint16(34, 16, true); tag(36, "data"); v.setUint32(40, 2 * x.length, true);
  for (let i = 0; i < x.length; i++) {
    const s = Math.max(-1, Math.min(1, x[i]));
    v.setInt16(44 + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return buf;
}

async function decode(blob, rate, seconds) {    // webm/opus -> mono float32 at `rate`
  const off = new OfflineAudioContext(1, Math.ceil(rate * seconds), rate);
  const a = await off.decodeAudioData(await blob.arrayBuffer());
  const mono = new Float32Array(a.length);
  for (let c = 0; c < a.numberOfChannels; c++) {
    const d = a.getChannelData(c);
    for (let i = 0; i < a.length; i++) mono[i] += d[i] / a.numberOfChannels;
  }
  const keep = Math.round(rate * seconds);
  return mono.length > keep ? mono.subarray(mono.length - keep) : mono;
}

export default {
  render({ model, el }) {
    el.classList.add("hd-mic");
    el.innerHTML = `
      <button type="button" class="hd-mic-record">&#9679; Record</button>
      <div class="hd-mic-meter" title="microphone level"><div class="hd-mic-level"></div></div>
      <span class="hd-mic-phase"></span>`;
    const button = el.querySelector(".hd-mic-record");
    const bar = el.querySelector(".hd-mic-level");
    const phase = el.querySelector(".hd-mic-phase");
    let local = null;                            // what the page is doing, or null
    const show = () => {
      button.disabled = local !== null || !model.get("armed");
      if (local === null) {
        phase.className = "hd-mic-phase";
        phase.textContent = model.get("state") === "checking" ? "Checking\u2026" : "";
      }
    };
    const enter = (name, text) => {
      if (local !== name) model.send({ type: "phase", phase: name });
      local = name;
      phase.className = `hd-mic-phase hd-mic-${name}`;
      phase.textContent = text;
      show();
    };
    const fail = (message) => { local = null; model.send({ type: "error", message }); show(); };

    button.addEventListener("click", async () => {
      if (local !== null) return;
      const seconds = model.get("seconds"), rate = model.get("sample_rate");
      if (!navigator.mediaDevices || typeof MediaRecorder === "undefined")
        return fail("this page has no microphone access (it needs https or localhost)");
      local = "opening"; show();
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: {
          echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      } catch (err) {
        return fail(`${err.name || "Error"}: ${err.message || err}`);
      }
      const ctx = new AudioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(stream).connect(analyser);
      const frame = new Float32Array(analyser.fftSize);
      const meter = setInterval(() => {
        analyser.getFloatTimeDomainData(frame);
        let power = 0, peak = 0;
        for (const s of frame) { power += s * s; peak = Math.max(peak, Math.abs(s)); }
        const db = 10 * Math.log10(power / frame.length + 1e-12);
        bar.style.width = `${Math.max(0, Math.min(100, (db + 60) * 100 / 60))}%`;
        bar.style.background = peak >= 0.98 ? "#c62828" : db < -45 ? "#f9a825" : "#2e7d32";
      }, 50);
      try {
        for (let k = model.get("countdown"); k > 0; k--) {
          enter("countdown", `${k}`);
          await sleep(1000);
        }
        const rec = new MediaRecorder(stream), chunks = [];
        rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
        const stopped = new Promise((r) => { rec.onstop = r; });
        rec.start();
        const t0 = performance.now(), total = seconds + 0.3;
        enter("recording", "Recording: hold \u201caaah\u201d");
        const clock = setInterval(() => {
          const left = Math.max(0, total - (performance.now() - t0) / 1000);
          phase.textContent = `Recording: hold \u201caaah\u201d \u2026 ${left.toFixed(1)} s left`;
        }, 100);
        await sleep(total * 1000);
        clearInterval(clock);
        rec.stop();
        await stopped;
        enter("decoding", "Checking\u2026");
        stream.getTracks().forEach((t) => t.stop());   // the microphone is off again
        clearInterval(meter);
        bar.style.width = "0%";
        ctx.close();
        const pcm = await decode(new Blob(chunks, { type: rec.mimeType }), rate, seconds);
        model.send({ type: "take", mime: rec.mimeType, samples: pcm.length }, undefined,
                   [wav16(pcm, rate)]);
        local = null;
        show();
      } catch (err) {
        clearInterval(meter);
        stream.getTracks().forEach((t) => t.stop());
        fail(`recording failed: ${err.name || "Error"}: ${err.message || err}`);
      }
    });
    model.on("change:armed", show);
    model.on("change:state", show);
    show();
  },
};
"""

_CSS = """
.hd-mic { display: flex; align-items: center; gap: 12px; padding: 4px 0; min-height: 40px; }
.hd-mic-record { font-size: 15px; padding: 6px 16px; border-radius: 4px; cursor: pointer;
  border: 1px solid #b71c1c; background: #d32f2f; color: white; }
.hd-mic-record:disabled { background: #e0e0e0; color: #757575; border-color: #bdbdbd;
  cursor: default; }
.hd-mic-meter { width: 180px; height: 12px; border: 1px solid #9e9e9e; border-radius: 3px;
  background: #fafafa; overflow: hidden; flex: none; }
.hd-mic-level { height: 100%; width: 0%; background: #2e7d32; transition: width 50ms linear; }
.hd-mic-phase { font-size: 14px; color: #333; }
.hd-mic-countdown { font-size: 26px; font-weight: bold; color: #b71c1c; min-width: 1.5em; }
.hd-mic-recording { font-weight: bold; color: #b71c1c; }
"""


class MicCapture(anywidget.AnyWidget):
    """Record button, countdown and level meter in the page; sends 16 kHz WAV takes.

    The kernel half is :class:`~hd_widgets.widgets.recorder.Recorder`, which listens with
    ``on_msg`` and sets ``armed`` and ``state``.
    """

    _esm = _ESM
    _css = _CSS
    seconds = Float(2.0, help="Length of a take in seconds (the page records 0.3 s more "
                    "and drops the onset).").tag(sync=True)
    countdown = Int(3, help="Seconds counted down (3, 2, 1) "
                    "before recording starts.").tag(sync=True)
    sample_rate = Int(16000, help="Rate the page decodes the take to, Hz.").tag(sync=True)
    armed = Bool(True, help="Whether the Record button may be pressed (off while a take "
                 "waits for Keep or Retry).").tag(sync=True)
    state = Unicode("ready", help="The recorder's status, mirrored for the page (it shows "
                    "'Checking…' while the kernel checks a take).").tag(sync=True)
