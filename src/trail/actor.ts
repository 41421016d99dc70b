// The actor of a change, from the API server's own account of who sent it (pure).
import type { Actor } from "./kinds.ts";

const SERVICE_ACCOUNT = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** An Actor from the user name, uid and groups the API server authenticated. */
export function actorOf(user: { username: string; uid: string; groups: readonly string[] }): Actor {
  const sa = SERVICE_ACCOUNT.exec(user.username);
  return {
    username: user.username,
    uid: user.uid,
    groups: [...user.groups],
    serviceAccount: sa?.[1] !== undefined && sa[2] !== undefined ? { namespace: sa[1], name: sa[2] } : null,
  };
}
