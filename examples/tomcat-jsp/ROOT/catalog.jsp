<%@ page session="false" contentType="text/html; charset=UTF-8" import="java.util.Locale,java.util.Map,java.util.TreeMap" %>
<%@ include file="/WEB-INF/jspf/header.jspf" %>
<%
    // Messier objects and their distance in light years.
    Map<String, Double> objects = new TreeMap<>();
    objects.put("M1 Crab Nebula", 6500.0);
    objects.put("M31 Andromeda Galaxy", 2.537e6);
    objects.put("M42 Orion Nebula", 1344.0);
    objects.put("M45 Pleiades", 444.0);
    request.setAttribute("highlight", "M42 Orion Nebula");
%>
<img src="/img/logo.svg" alt="" width="40">
<table>
<% for (Map.Entry<String, Double> e : objects.entrySet()) { %>  <tr><td><%= e.getKey() %></td><td><%= String.format(Locale.ROOT, "%,.0f ly", e.getValue()) %></td></tr>
<% } %></table>
<jsp:include page="/WEB-INF/jspf/sidebar.jsp" />
<%@ include file="/WEB-INF/jspf/footer.jspf" %>
