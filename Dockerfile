FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY drivers ./drivers
COPY alerts ./alerts
COPY dashboards ./dashboards
RUN pip install --no-cache-dir -e .
ENV VIGIL_HOST=0.0.0.0 VIGIL_PORT=8000
EXPOSE 8000
CMD ["vigil", "run"]
