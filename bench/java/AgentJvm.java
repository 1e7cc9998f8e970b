import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * The agent JVM of the two-JVM baseline (the JAliEn design). It reads the
 * jobs it holds from stdin, one line each, and for each starts a wrapper
 * JVM (behind an optional launcher such as bwrap), sends it the job as a
 * serialised object over the wrapper's stdin, and waits for it to finish.
 *
 * Usage: AgentJvm --payload ARGV... [--launcher ARGV...]
 * Job lines: "job ID" (no broker calls) or "job ID TOKENDIR BROKERURL"
 * (the wrapper reports to the broker with the job token in TOKENDIR:
 * cert.pem, key.pem, ca.pem).
 *
 * Prints, per job: "wrapper-pid PID" when the wrapper started, then
 * "launch T0 FIRSTLINE EXIT" with T0 the wall clock (ns since the epoch)
 * when the agent began launching, FIRSTLINE the payload's first output
 * line and EXIT its exit code.
 */
public final class AgentJvm {
  static long nowNanos() {
    Instant t = Instant.now();
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  public static void main(String[] args) throws Exception {
    List<String> payload = new ArrayList<>();
    List<String> launcher = new ArrayList<>();
    List<String> into = null;
    for (String a : Arrays.asList(args)) {
      if (a.equals("--payload")) into = payload;
      else if (a.equals("--launcher")) into = launcher;
      else if (into == null) throw new IllegalArgumentException(
          "unexpected argument " + a + "; expected --payload or --launcher");
      else into.add(a);
    }
    if (payload.isEmpty()) {
      throw new IllegalArgumentException("--payload ARGV... is required");
    }
    String java = System.getProperty("java.home") + "/bin/java";
    String classpath = System.getProperty("java.class.path");
    BufferedReader jobs =
        new BufferedReader(new InputStreamReader(System.in));
    for (String line; (line = jobs.readLine()) != null;) {
      String[] f = line.trim().split(" ");
      if (f.length < 2 || !f[0].equals("job")) {
        throw new IllegalArgumentException(
            "bad job line \"" + line + "\"; expected: job ID [TOKENDIR BROKERURL]");
      }
      long t0 = nowNanos();
      String cert = "", key = "", ca = "", broker = null;
      if (f.length >= 4) {
        cert = Files.readString(Path.of(f[2], "cert.pem"));
        key = Files.readString(Path.of(f[2], "key.pem"));
        ca = Files.readString(Path.of(f[2], "ca.pem"));
        broker = f[3];
      }
      HashMap<String, String> env = new HashMap<>();
      env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
      env.put("HOME", "/tmp");
      env.put("LANG", "C.UTF-8");
      JobDescription job = new JobDescription(f[1],
          "Executable = \"" + payload.get(0) + "\";\nTTL = 60;\n", "jdoe",
          cert, key, ca, broker, env, payload);
      List<String> cmd = new ArrayList<>(launcher);
      cmd.addAll(List.of(java, "-cp", classpath, "WrapperJvm"));
      Process wrapper = new ProcessBuilder(cmd)
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      System.out.println("wrapper-pid " + wrapper.pid());
      System.out.flush();
      try (ObjectOutputStream out = new ObjectOutputStream(
          new BufferedOutputStream(wrapper.getOutputStream()))) {
        out.writeObject(job);
        out.flush();
      }
      String first = "-";
      String exit = "-";
      try (BufferedReader in = new BufferedReader(
          new InputStreamReader(wrapper.getInputStream()))) {
        for (String w; (w = in.readLine()) != null;) {
          if (w.startsWith("payload ") && first.equals("-")) {
            first = w.substring(8).trim();
          } else if (w.startsWith("exit ")) {
            exit = w.substring(5).trim();
          }
        }
      }
      wrapper.waitFor();
      System.out.println("launch " + t0 + " " + first + " " + exit);
      System.out.flush();
    }
  }
}
