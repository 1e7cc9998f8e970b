import {
  evaluate,
  formatJdl,
  matchKeys,
  parseJdl,
  requirementsHold,
  type SiteMap,
} from "./mod.ts";

/** A 30-line production JDL. */
const JDL = `# An ALICE production job
User = "aliprod";
JobTag = {"comment:LHC24a1 anchored to LHC23zzh, pass4"};
Packages = {
  "VO_ALICE@AliPhysics::vAN-20240101-1",
  "VO_ALICE@jemalloc::v3.6.0"
};
Executable = "/alice/cern.ch/user/a/aliprod/bin/aliroot_new";
Arguments = "--run 12345 --event 0 --config 'sim.C(\\"pp\\", 13600)' -n 200";
InputFile = {
  "LF:/alice/sim/2024/LHC24a1/sim.C",
  "LF:/alice/sim/2024/LHC24a1/rec.C"
};
InputData = "LF:/alice/data/2023/LHC23zzh/000544013/raw/23000544013001.10.root";
OutputArchive = {
  "log_archive.zip:std*,*.log,stdout,stderr@disk=1",
  "root_archive.zip:AliESDs.root,AliAOD.root,*.stat@disk=2"
};
OutputFile = {"AnalysisResults.root@disk=2", "histos.txt"};
TTL = "72000";
Price = 1;
MemorySize = "8GB";
WorkDirectorySize = {"5000MB"};
CPUCores = 8;
MaxWaitingTime = "2d";
ValidationCommand = "/alice/validation/validation.sh";
JDLVariables = {"Packages", "OutputDir", "CPUCores"};
OutputDir = "/alice/sim/2024/LHC24a1/544013/001";
Requirements = ( other.TTL > 72000 ) && ( other.Price <= 1 ) &&
  member(other.Packages, "VO_ALICE@AliPhysics::vAN-20240101-1");
`;

const jd = parseJdl(JDL);
const site: SiteMap = {
  ce: "ALICE::CERN::Pilot",
  site: "CERN",
  ttl: 86400,
  cpuCores: 8,
  memory: 2 ** 35,
  disk: 2 ** 36,
  price: 1,
  packages: [
    "VO_ALICE@ROOT::v6",
    "VO_ALICE@AliPhysics::vAN-20240101-1",
    "VO_ALICE@O2::daily-20240101",
  ],
};
if (!requirementsHold(jd, site)) throw new Error("benchmark site must match");

Deno.bench("parseJdl: 30-line production JDL", () => {
  parseJdl(JDL);
});
Deno.bench("formatJdl: 30-line production JDL", () => {
  formatJdl(jd);
});
Deno.bench("evaluate: production Requirements", () => {
  evaluate(jd.requirements!, site, jd);
});
Deno.bench("requirementsHold: production Requirements", () => {
  requirementsHold(jd, site);
});
Deno.bench("matchKeys: production JDL", () => {
  matchKeys(jd);
});
