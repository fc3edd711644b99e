// Owner sign-in: ask the gateway for a one-time challenge for the account, sign it on this device with the
// enrolment key (owner-crypto.js), post only the signature. The key never leaves the device.
"use strict";
(function () {
  const form = document.getElementById("owner-signin");
  const account = document.getElementById("account-id");
  const keyInput = document.getElementById("owner-key");
  const err = document.getElementById("signin-error");

  form.addEventListener("submit", async function (event) {
    if (form.dataset.signed === "yes") return;
    event.preventDefault();
    err.textContent = "";
    try {
      const asked = await fetch("/api/v1/owner-auth/challenge", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ account_id: account.value.trim() }),
      });
      const found = await asked.json();
      if (!asked.ok) throw new Error(found.error ? found.error.message : asked.status);
      form.elements.challenge_id.value = found.challenge_id;
      form.elements.signature.value = await window.mledgerOwnerSign(keyInput, found.document);
      form.dataset.signed = "yes";
      form.submit();
    } catch (e) {
      err.textContent = (err.dataset.prefix || "Not signed in: ") + (e && e.message ? e.message : e);
    }
  });
})();
