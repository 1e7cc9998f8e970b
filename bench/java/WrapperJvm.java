import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.ObjectInputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * The wrapper JVM of the two-JVM baseline: reads one serialised
 * JobDescription from stdin; if it names a broker, reports STARTED and
 * RUNNING there over mutual TLS with the job token (as splitpilot's
 * wrapper does); runs the payload with the job's environment; relays the
 * payload's output and exit code to the agent on stdout; then reports
 * SAVING and DONE.
 */
public final class WrapperJvm {
  private static SSLSocketFactory tls;

  public static void main(String[] args) throws Exception {
    ObjectInputStream in =
        new ObjectInputStream(new BufferedInputStream(System.in));
    JobDescription job = (JobDescription) in.readObject();
    if (job.broker != null) {
      tls = sslContext(job).getSocketFactory();
      report(job, "STARTED");
      report(job, "RUNNING");
    }
    ProcessBuilder pb = new ProcessBuilder(job.payload);
    pb.environment().clear();
    pb.environment().putAll(job.env);
    pb.environment().put("ALIEN_PROC_ID", job.queueId);
    pb.environment().put("ALIEN_USER", job.user);
    pb.redirectErrorStream(true);
    Process payload = pb.start();
    try (BufferedReader out =
        new BufferedReader(new InputStreamReader(payload.getInputStream()))) {
      for (String line; (line = out.readLine()) != null;) {
        System.out.println("payload " + line);
        System.out.flush();
      }
    }
    int code = payload.waitFor();
    if (job.broker != null) {
      report(job, "SAVING");
      report(job, code == 0 ? "DONE" : "ERROR_E");
    }
    System.out.println("exit " + code);
    System.out.flush();
  }

  private static byte[] pemBody(String pem) {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return Base64.getDecoder().decode(b64);
  }

  private static SSLContext sslContext(JobDescription job) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    Certificate cert = cf.generateCertificate(
        new ByteArrayInputStream(job.tokenCert.getBytes(StandardCharsets.US_ASCII)));
    Certificate ca = cf.generateCertificate(
        new ByteArrayInputStream(job.caCert.getBytes(StandardCharsets.US_ASCII)));
    PrivateKey key = KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(pemBody(job.tokenKey)));
    char[] pass = "job".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("job", key, pass, new Certificate[] {cert});
    KeyManagerFactory kmf =
        KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, pass);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  private static void report(JobDescription job, String state)
      throws Exception {
    URL url = new URL(job.broker + "/api/v1/jobs/" + job.queueId + "/status");
    HttpsURLConnection c = (HttpsURLConnection) url.openConnection();
    c.setSSLSocketFactory(tls);
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setRequestProperty("content-type", "application/json");
    byte[] body = ("{\"state\":\"" + state + "\",\"message\":\"wrapper JVM\"}")
        .getBytes(StandardCharsets.UTF_8);
    try (OutputStream o = c.getOutputStream()) {
      o.write(body);
    }
    int status = c.getResponseCode();
    try (InputStream r = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      if (r != null) r.readAllBytes();
    }
    if (status >= 300) {
      throw new IllegalStateException("broker answered " + status + " to " + state);
    }
    System.out.println("status " + state);
    System.out.flush();
  }
}
