<%@ page session="false" contentType="text/html; charset=UTF-8" %>
<%@ include file="/WEB-INF/jspf/header.jspf" %>
<%
    String[] planets = {"Mercury", "Venus", "Mars", "Jupiter", "Saturn"};
%>
<p>Public viewing nights for <%= planets.length %> planets:</p>
<ul>
<% for (String p : planets) { %>  <li><%= p %></li>
<% } %></ul>
<%@ include file="/WEB-INF/jspf/footer.jspf" %>
