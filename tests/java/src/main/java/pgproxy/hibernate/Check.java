package pgproxy.hibernate;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.Id;
import jakarta.persistence.ManyToOne;
import jakarta.persistence.Table;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.hibernate.SessionFactory;
import org.hibernate.cfg.Configuration;

/**
 * Hibernate ORM against pgproxy with its defaults: {@code @GeneratedValue} ids from a
 * sequence (allocation size 50), schema export (create-drop), persist, queries and a
 * rollback. Usage: java -cp ... pgproxy.hibernate.Check jdbc-url user. Prints one JSON line.
 */
public final class Check {

  @Entity(name = "Author")
  @Table(name = "hb_author")
  public static class Author {
    @Id @GeneratedValue Long id;
    @Column(nullable = false, unique = true) String name;
    boolean active = true;
  }

  @Entity(name = "Book")
  @Table(name = "hb_book")
  public static class Book {
    @Id @GeneratedValue Long id;
    @ManyToOne(optional = false) Author author;
    String title;
    @Column(precision = 10, scale = 2) BigDecimal price;
    OffsetDateTime published;
  }

  public static void main(String[] args) {
    Map<String, Object> out = new LinkedHashMap<>();
    Configuration cfg = new Configuration()
        .addAnnotatedClass(Author.class)
        .addAnnotatedClass(Book.class)
        .setProperty("hibernate.connection.url", args[0])
        .setProperty("hibernate.connection.username", args[1])
        .setProperty("hibernate.connection.password", args.length > 2 ? args[2] : "")
        .setProperty("hibernate.hbm2ddl.auto", "create-drop")
        .setProperty("hibernate.connection.pool_size", "2");
    try (SessionFactory factory = cfg.buildSessionFactory()) {
      List<Long> bookIds = new ArrayList<>();
      factory.inTransaction(session -> {
        Author ada = new Author();
        ada.name = "ada";
        session.persist(ada);
        for (int i = 0; i < 120; i++) {
          Book b = new Book();
          b.author = ada;
          b.title = "book " + i;
          b.price = new BigDecimal("12.50");
          b.published = OffsetDateTime.of(2024, 5, 6, 7, 8, 9, 0, ZoneOffset.UTC);
          session.persist(b);
          bookIds.add(b.id);
        }
      });
      out.put("distinct_ids", bookIds.stream().distinct().count());
      out.put("books", factory.fromTransaction(s ->
          s.createSelectionQuery("select count(b) from Book b where b.author.name = :n", Long.class)
              .setParameter("n", "ada").getSingleResult()));
      out.put("sum", factory.fromTransaction(s ->
          s.createSelectionQuery("select sum(b.price) from Book b", BigDecimal.class)
              .getSingleResult()).toPlainString());
      out.put("published", factory.fromTransaction(s ->
          s.createSelectionQuery("select min(b.published) from Book b", OffsetDateTime.class)
              .getSingleResult()).withOffsetSameInstant(ZoneOffset.UTC).toString());
      try {
        factory.inTransaction(session -> {
          Author dup = new Author();
          dup.name = "ada";
          session.persist(dup);
          session.flush();
        });
        out.put("unique_violation", false);
      } catch (RuntimeException e) {
        out.put("unique_violation", true);
      }
      out.put("authors", factory.fromTransaction(s ->
          s.createSelectionQuery("select count(a) from Author a", Long.class).getSingleResult()));
    } catch (RuntimeException e) {
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      out.put("error", e.toString());
      out.put("cause", root.toString());
    }
    StringBuilder json = new StringBuilder("{");
    for (Map.Entry<String, Object> entry : out.entrySet()) {
      if (json.length() > 1) {
        json.append(',');
      }
      json.append('"').append(entry.getKey()).append("\":");
      Object v = entry.getValue();
      if (v instanceof Number || v instanceof Boolean) {
        json.append(v);
      } else {
        json.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
      }
    }
    System.out.println(json.append('}'));
  }
}
