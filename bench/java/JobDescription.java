import java.io.Serializable;
import java.util.HashMap;
import java.util.List;

/**
 * What the agent JVM hands the wrapper JVM over its stdin, as JAliEn's
 * JobAgent does: one serialised object with the JDL, the owner, the job
 * token (certificate and key), the environment and where the broker is.
 */
public final class JobDescription implements Serializable {
  private static final long serialVersionUID = 2L;

  public final String queueId;
  public final String jdl;
  public final String user;
  public final String tokenCert;
  public final String tokenKey;
  public final String caCert;
  /** Broker base URL; null: the wrapper makes no broker calls. */
  public final String broker;
  public final HashMap<String, String> env;
  public final List<String> payload;

  public JobDescription(String queueId, String jdl, String user,
      String tokenCert, String tokenKey, String caCert, String broker,
      HashMap<String, String> env, List<String> payload) {
    this.queueId = queueId;
    this.jdl = jdl;
    this.user = user;
    this.tokenCert = tokenCert;
    this.tokenKey = tokenKey;
    this.caCert = caCert;
    this.broker = broker;
    this.env = env;
    this.payload = payload;
  }
}
