import type { Db } from "../db";
import { onHealthChange } from "../health/health-change";
import { raiseNumberAlert } from "./raise-number-alert";

// A number whose health becomes `restricted` (lib/health/) raises the RESTRICTED alert: the
// panel's banner, the `number.status` webhook and the GHL trigger, like a logout. The health
// change is told once per transition (recorded under a lock on the number's row), and `since` is
// when it was judged, so a second restriction later raises a new alert and a repeat of this one
// does not (docs/architecture.md#number-alerts).

/** Listens for the rest of the process (or until the returned function is called). */
export function alertOnRestriction(db: Db, onError: (err: unknown) => void): () => void {
  return onHealthChange(async (c) => {
    if (c.to !== "restricted") return;
    await raiseNumberAlert(db, {
      locationId: c.locationId,
      instanceId: c.instanceId,
      status: "RESTRICTED",
      reason: c.reasons.join("; "),
      since: c.at,
    }).catch(onError);
  });
}
