<%@ page session="false" contentType="text/html; charset=UTF-8" %>
<aside><h2>Tonight</h2><p>Best seen after <%= 21 + 1 %>:00: <%= request.getAttribute("highlight") %>.</p></aside>
