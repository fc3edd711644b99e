// The owner's signing page: WebCrypto ECDSA P-256 / SHA-256 over the UTF-8 bytes of the consent document
// (the canonical JSON the ledger shows as signed_document). The key file is read locally, never sent.
"use strict";
(function () {
  const doc = document.getElementById("consent-document");
  const terms = document.getElementById("consent-terms");
  const keyInput = document.getElementById("owner-key");
  const out = document.getElementById("consent-signature");
  const err = document.getElementById("sign-error");
  const send = document.getElementById("send-signature");  // signed in: carry it to the ledger from here

  function showTerms() {
    terms.textContent = "";
    let parsed;
    try { parsed = JSON.parse(doc.value); } catch (e) { return; }
    const list = document.createElement("dl");
    const names = JSON.parse(terms.dataset.labels || "{}");
    const label = function (k, fallback) { return names[k] || fallback; };
    const rows = [[label("consent", "Consent"), parsed.consent_id], [label("vin", "Vehicle"), parsed.vin],
      [label("kind", "Kind"), parsed.kind], [label("grantee", "To"), parsed.grantee],
      [label("expires", "Expires"), parsed.expires_at]];
    Object.keys(parsed.terms || {}).sort().forEach(function (k) { rows.push([k, parsed.terms[k]]); });
    rows.forEach(function (row) {
      const dt = document.createElement("dt"); dt.textContent = row[0];
      const dd = document.createElement("dd"); dd.textContent = String(row[1]);
      list.appendChild(dt); list.appendChild(dd);
    });
    terms.appendChild(list);
  }

  async function sign() {
    err.textContent = "";
    out.value = "";
    try {
      JSON.parse(doc.value);
      out.value = await window.mledgerOwnerSign(keyInput, doc.value);
      if (send) { send.elements.signature.value = out.value; send.hidden = false; }
    } catch (e) {
      err.textContent = (err.dataset.prefix || "Not signed: ") + (e && e.message ? e.message : e);
    }
  }

  doc.addEventListener("input", showTerms);
  document.getElementById("sign-consent").addEventListener("click", sign);
  showTerms();
})();
