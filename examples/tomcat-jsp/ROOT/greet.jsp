<%@ page session="false" contentType="text/html; charset=UTF-8" %>
<%@ include file="/WEB-INF/jspf/header.jspf" %>
<%
    String name = request.getParameter("name");
    if (name == null || name.isBlank()) name = "stargazer";
    String safe = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
%>
<p>Welcome, <%= safe %>! Your name has <%= name.length() %> letters.</p>
<%@ include file="/WEB-INF/jspf/footer.jspf" %>
