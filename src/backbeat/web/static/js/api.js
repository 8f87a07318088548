// Small fetch helpers for the Backbeat HTTP API.

async function check(resp) {
  if (!resp.ok) {
    let detail = resp.statusText;
    try { detail = (await resp.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return resp.json();
}

export const api = {
  songs: () => fetch("/api/songs").then(check),
  song: (id) => fetch(`/api/songs/${id}`).then(check),
  chart: (id, part, level) =>
    fetch(`/api/songs/${id}/chart?part=${encodeURIComponent(part)}&level=${encodeURIComponent(level)}`)
      .then(check),
  job: (id) => fetch(`/api/jobs/${id}`).then(check),
  reanalyse: (id, tempoHintBpm) => fetch(`/api/songs/${id}/reanalyse`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ tempo_hint_bpm: tempoHintBpm }),
  }).then(check),
  importPath: (path) => fetch("/api/songs/import", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path }),
  }).then(check),
  createSession: (songId, options) => fetch("/api/sessions", {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ song_id: songId, ...options }),
  }).then(check),
  sessions: () => fetch("/api/sessions").then(check),
  session: (id) => fetch(`/api/sessions/${id}`).then(check),
  calibration: (device) => fetch(`/api/devices/${encodeURIComponent(device)}/calibration`).then(check),
  saveCalibration: (device, body) => fetch(`/api/devices/${encodeURIComponent(device)}/calibration`, {
    method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  }).then(check),

  /** Upload a file with progress (XHR gives upload progress events; fetch does not). */
  upload(file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.open("POST", "/api/songs");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) { /* ignore */ }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body);
        else reject(new Error(body.detail || `upload failed (${xhr.status})`));
      };
      xhr.onerror = () => reject(new Error("upload failed: network error"));
      xhr.send(form);
    });
  },
};
