// The owner's signing page: WebCrypto ECDSA P-256 / SHA-256 over the UTF-8 bytes of the consent document
// (the canonical JSON the ledger shows as signed_document). The key file is read locally, never sent.
"use strict";
(function () {
  const doc = document.getElementById("consent-document");
  const terms = document.getElementById("consent-terms");
  const keyInput = document.getElementById("owner-key");
  const out = document.getElementById("consent-signature");
  const err = document.getElementById("sign-error");

  function showTerms() {
    terms.textContent = "";
    let parsed;
    try { parsed = JSON.parse(doc.value); } catch (e) { return; }
    const list = document.createElement("dl");
    const rows = [["Consent", parsed.consent_id], ["Vehicle", parsed.vin], ["Kind", parsed.kind],
      ["To", parsed.grantee], ["Expires", parsed.expires_at]];
    Object.keys(parsed.terms || {}).sort().forEach(function (k) { rows.push([k, parsed.terms[k]]); });
    rows.forEach(function (row) {
      const dt = document.createElement("dt"); dt.textContent = row[0];
      const dd = document.createElement("dd"); dd.textContent = String(row[1]);
      list.appendChild(dt); list.appendChild(dd);
    });
    terms.appendChild(list);
  }

  function pemToDer(pem) {
    const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
    const raw = atob(body);
    const der = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) der[i] = raw.charCodeAt(i);
    return der.buffer;
  }

  async function sign() {
    err.textContent = "";
    out.value = "";
    try {
      JSON.parse(doc.value);
      const file = keyInput.files && keyInput.files[0];
      if (!file) throw new Error("choose your key file");
      const pem = await file.text();
      if (pem.indexOf("BEGIN PRIVATE KEY") < 0) throw new Error("the key file must be PKCS#8 PEM");
      const key = await crypto.subtle.importKey("pkcs8", pemToDer(pem), { name: "ECDSA", namedCurve: "P-256" },
        false, ["sign"]);
      const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key,
        new TextEncoder().encode(doc.value));
      out.value = btoa(String.fromCharCode.apply(null, new Uint8Array(sig)));
    } catch (e) {
      err.textContent = "Not signed: " + (e && e.message ? e.message : e);
    }
  }

  doc.addEventListener("input", showTerms);
  document.getElementById("sign-consent").addEventListener("click", sign);
  showTerms();
})();
