/**
 * The token DN layout: encoding it and reading a role identity back out.
 * See `mod.ts` for the layout itself.
 *
 * @module
 */
import { oid, seq, str, TAG, tlv } from "./_der.ts";
import { type Attr, formatName, OID } from "./_x509.ts";
import { type Role, ROLES } from "./role.ts";
import { TokenError } from "./token_error.ts";

/** The `O` of every token and of the CA. */
export const ORG = "splitpilot";

/** Subjects and owners: a conservative user/host-name alphabet. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;

/** Job IDs: PrintableString-safe, as X.520 wants for serialNumber. */
export const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,63}$/;

/** CA subjects may also contain inner spaces. */
export const CA_NAME_RE =
  /^[A-Za-z0-9](?:[A-Za-z0-9 ._@:-]{0,62}[A-Za-z0-9._@:-])?$/;

/** The identity fields a token DN carries. */
export interface DnFields {
  /** Grid role (OU). */
  role: Role;
  /** CN. */
  subject: string;
  /** JOB only: serialNumber attribute. */
  jobId?: string;
  /** JOB only: UID attribute. */
  owner?: string;
  /** USER only: `title=admin`. */
  admin: boolean;
}

function rdn(type: string, tag: number, value: string): Uint8Array {
  return tlv(TAG.SET, seq(oid(type), str(tag, value)));
}

const U = TAG.UTF8_STRING;
const O_RDN = rdn(OID.o, U, ORG);
const ROLE_RDN = Object.fromEntries(
  ROLES.map((r) => [r, rdn(OID.ou, U, r)]),
) as Record<Role, Uint8Array>;
const ADMIN_RDN = rdn(OID.title, U, "admin");

/** Encodes a token subject Name (DER order: O, OU, title, UID, serialNumber, CN). */
export function encodeTokenName(f: DnFields): Uint8Array {
  const parts = [O_RDN, ROLE_RDN[f.role]];
  if (f.admin) parts.push(ADMIN_RDN);
  if (f.owner !== undefined) parts.push(rdn(OID.uid, U, f.owner));
  if (f.jobId !== undefined) {
    parts.push(rdn(OID.serialNumber, TAG.PRINTABLE_STRING, f.jobId));
  }
  parts.push(rdn(OID.cn, U, f.subject));
  return seq(...parts);
}

/** Encodes the CA's Name: `CN=<subject>, O=splitpilot`. */
export function encodeCaName(subject: string): Uint8Array {
  return seq(O_RDN, rdn(OID.cn, U, subject));
}

/**
 * Reads role, subject, job ID, owner and admin flag from a token subject.
 * Attribute order is not checked; the set of attributes is.
 */
export function identityFields(name: { rdns: Attr[][] }): DnFields {
  const dn = () => formatName(name);
  const badDn: (why: string) => never = (why) => {
    throw new TokenError("bad_dn", `token DN "${dn()}" ${why}`);
  };
  const seen = new Map<string, string[]>();
  for (const r of name.rdns) {
    if (r.length !== 1) badDn("has a multi-valued RDN");
    const list = seen.get(r[0].oid) ?? [];
    list.push(r[0].value);
    seen.set(r[0].oid, list);
  }
  const ous = seen.get(OID.ou) ?? [];
  if (ous.length !== 1 || !ROLES.includes(ous[0] as Role)) {
    throw new TokenError(
      "bad_role",
      `token DN "${dn()}" ${
        ous.length === 0
          ? "has no role OU"
          : ous.length > 1
          ? "has more than one OU"
          : `has unknown role OU=${ous[0]}`
      } (expected one of ${ROLES.join(", ")})`,
    );
  }
  const role = ous[0] as Role;
  const one = (o: string, label: string): string | undefined => {
    const v = seen.get(o);
    if (v && v.length > 1) badDn(`has more than one ${label}`);
    return v?.[0];
  };
  if (one(OID.o, "O") !== ORG) badDn(`must have O=${ORG}`);
  const subject = one(OID.cn, "CN");
  if (subject === undefined) badDn("has no CN");
  if (!NAME_RE.test(subject)) badDn("has a CN outside [A-Za-z0-9._@:-]");
  const title = one(OID.title, "title");
  const owner = one(OID.uid, "UID");
  const jobId = one(OID.serialNumber, "serialNumber");
  for (const o of seen.keys()) {
    if (
      o !== OID.ou && o !== OID.o && o !== OID.cn && o !== OID.title &&
      o !== OID.uid && o !== OID.serialNumber
    ) badDn(`has an unexpected attribute ${o}`);
  }
  if (title !== undefined && (title !== "admin" || role !== "USER")) {
    badDn("may carry title=admin only for role USER");
  }
  if (role === "JOB") {
    if (jobId === undefined) badDn("is a JOB token without a job ID");
    if (owner === undefined) badDn("is a JOB token without an owner (UID)");
    if (!JOB_ID_RE.test(jobId)) badDn("has a malformed job ID");
    if (!NAME_RE.test(owner)) badDn("has a malformed owner");
    return { role, subject, jobId, owner, admin: false };
  }
  if (jobId !== undefined || owner !== undefined) {
    badDn("carries a job ID or owner but is not a JOB token");
  }
  return { role, subject, admin: title === "admin" };
}
